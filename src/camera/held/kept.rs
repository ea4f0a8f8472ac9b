//! Backdrops kept for the views a show cuts back to.
//!
//! A show's shots come from a few cameras, and its rundown cuts back to each of them every
//! loop. Each cut needs a backdrop: the whole set drawn once, about 200 ms at 720p on two
//! cores, six frames a stream repeats. While nothing of the set has changed since the show
//! was last on that view, the backdrop drawn then is the same picture (it never holds the
//! host nor her shadow, see [`super::her`]). So the last [`KEPT`] backdrops are kept, each
//! as big as the picture (3.5 MiB at 720p), and a cut back to one of them copies it into
//! the frame instead of drawing it again.
//!
//! Any change of the set ([`super::notice_set_changes`]) makes every kept backdrop stale:
//! a prop shown, a light moved. A twin screen's new numbers do not: each kept backdrop
//! notes the screens changed since it was kept, and a cut back to it draws them into it
//! as a patch ([`super::patch`]) on its first frame, as into the backdrop on air. A factory
//! whose numbers change every few seconds would otherwise cost a whole backdrop at every
//! cut.

use super::{Backdrop, Frame, View};
use crate::scene::{ComposeCamera, OnAirPicture, ShowroomSettings};
use bevy::prelude::*;

/// How many backdrops are kept: the demo's rundown has six views, and a show file rarely
/// has more cameras than this.
const KEPT: usize = 8;

/// The kept backdrops, and which of them the compositors show this frame.
#[derive(Resource, Default)]
pub(super) struct Kept {
    slots: Vec<Slot>,
    /// Counts changes of the set: a backdrop kept at another count shows another set.
    generation: u64,
    /// Counts frames, for the slot left unused longest.
    clock: u64,
    /// The slot the compositors copy the backdrop from; `None`: the on-air camera's
    /// picture (the backdrop was drawn, or the frame drawn whole).
    shown: Option<usize>,
    /// The slot the on-air camera's picture is copied into this frame.
    keeping: Option<usize>,
    /// The backdrop in the on-air camera's picture is kept already (or not to be: drawn
    /// whole, with the host in it).
    picture_kept: bool,
}

/// One kept backdrop.
struct Slot {
    image: Handle<Image>,
    /// The view it was drawn from; `None` while it holds none.
    view: Option<View>,
    generation: u64,
    used: u64,
    /// The twin screens changed since it was kept or last shown, not drawn into it yet.
    pending: Vec<Entity>,
}

impl Kept {
    /// The set changed: no kept backdrop shows it any more.
    pub(super) fn invalidate(&mut self) {
        self.generation += 1;
    }

    /// The slot holding a backdrop of the set as it is now, seen from `view`.
    pub(super) fn of(&self, view: &View) -> Option<usize> {
        self.slots.iter().position(|slot| {
            slot.generation == self.generation && slot.view.is_some_and(|v| v.same_as(view))
        })
    }

    /// Twin `screens` drew new numbers: every kept backdrop shows their old ones.
    pub(super) fn screens_changed(&mut self, screens: &[Entity]) {
        for slot in self.slots.iter_mut().filter(|s| s.view.is_some()) {
            for screen in screens {
                if !slot.pending.contains(screen) {
                    slot.pending.push(*screen);
                }
            }
        }
    }

    /// This frame's backdrop is the one kept in `slot`, from this frame on; the screens
    /// changed since it was kept, to be drawn into it.
    pub(super) fn show(&mut self, slot: usize) -> Vec<Entity> {
        self.shown = Some(slot);
        let Some(slot) = self.slots.get_mut(slot) else {
            return Vec::new();
        };
        slot.used = self.clock;
        std::mem::take(&mut slot.pending)
    }

    /// Every screen pending for the backdrop on air is drawn into it this frame (or is out
    /// of its view): the kept one shown, if it is, has them all.
    pub(super) fn caught_up(&mut self) {
        if let Some(slot) = self.shown.and_then(|i| self.slots.get_mut(i)) {
            slot.pending.clear();
        }
    }

    /// Keeps the picture's backdrop, drawn from `view`: in the slot that holds that view
    /// already, else in an empty one, else in the one unused longest.
    fn keep(&mut self, view: View) {
        let slot = (self
            .slots
            .iter()
            .position(|s| s.view.is_some_and(|v| v.same_as(&view))))
        .or_else(|| self.slots.iter().position(|s| s.view.is_none()))
        .or_else(|| (0..self.slots.len()).min_by_key(|&i| self.slots[i].used));
        let Some(i) = slot else {
            return;
        };
        let slot = &mut self.slots[i];
        (slot.view, slot.generation, slot.used) = (Some(view), self.generation, self.clock);
        // This frame's patch lands in the picture before it is copied here.
        slot.pending.clear();
        self.keeping = Some(i);
    }

    /// Makes the slots' images for pictures of `size`, when they are not of that size yet;
    /// `false` while they are new (on the GPU only from the next frame).
    fn ready(&mut self, size: UVec2, images: &mut Assets<Image>) -> bool {
        let fits = |slot: &Slot| images.get(&slot.image).is_some_and(|i| i.size() == size);
        if self.slots.len() == KEPT && self.slots.iter().all(fits) {
            return true;
        }
        self.slots = (0..KEPT)
            .map(|_| Slot {
                image: images.add(crate::capture::new_target_image(size.x, size.y)),
                view: None,
                generation: 0,
                used: 0,
                pending: Vec::new(),
            })
            .collect();
        false
    }

    /// The image the compositors copy the backdrop from, and the one they keep it in.
    fn images(&self, picture: &Handle<Image>) -> (Handle<Image>, Option<Handle<Image>>) {
        let image = |slot: Option<usize>| slot.and_then(|i| self.slots.get(i)).map(|s| &s.image);
        let from = image(self.shown).unwrap_or(picture).clone();
        (from, image(self.keeping).cloned())
    }
}

impl View {
    /// Whether a backdrop drawn from `other` serves this view: the same lens and picture,
    /// and the camera where it is to within what the director takes for still
    /// ([`crate::camera::stays`]).
    fn same_as(&self, other: &View) -> bool {
        (self.fov, self.ev100, self.tonemapping, self.size)
            == (other.fov, other.ev100, other.tonemapping, other.size)
            && crate::camera::stays(&self.transform, &other.transform)
    }
}

/// Keeps each new backdrop that holds a frame, and points the compositors at the image
/// this frame's backdrop is in: the on-air camera's picture, or a kept one. The first
/// compositor copies this frame's patch into the backdrop ([`super::patch`]), then a new
/// backdrop into its slot.
pub(super) fn keep_backdrops(
    frame: Res<Frame>,
    backdrop: Res<Backdrop>,
    mut kept: ResMut<Kept>,
    settings: Res<ShowroomSettings>,
    mut images: ResMut<Assets<Image>>,
    patch: Res<super::patch::Patch>,
    mut composers: Query<(&ComposeCamera, &mut OnAirPicture)>,
) {
    let Some(compose) = &settings.compose else {
        return;
    };
    kept.clock += 1;
    kept.keeping = None;
    match *frame {
        Frame::Full | Frame::Set { .. } => {
            kept.shown = None;
            kept.picture_kept = *frame == Frame::Full;
        }
        // Kept on its first held frame, not as it is drawn: a backdrop that holds no frame
        // (one of a glide drawn whole, at a small size) is not worth a slot.
        // Slots made this frame are on the GPU from the next: it is kept then.
        Frame::Held { size, .. }
            if kept.shown.is_none() && !kept.picture_kept && kept.ready(size, &mut images) =>
        {
            kept.picture_kept = true;
            if let Some(view) = backdrop.view {
                kept.keep(view);
            }
        }
        Frame::Held { .. } | Frame::Glide { .. } => {}
    }
    // The patch has taken what was pending ([`super::patch::plan_patch`]).
    if matches!(*frame, Frame::Held { .. }) && patch.pending.is_empty() {
        kept.caught_up();
    }
    let (from, keep_in) = kept.images(&compose.picture);
    let patched = match *frame {
        Frame::Held {
            patch: Some(place), ..
        } => Some((patch.image.clone(), place.min)),
        _ => None,
    };
    let first = composers.iter().map(|(c, _)| c.index).min();
    for (composer, mut on_air) in &mut composers {
        let first = Some(composer.index) == first;
        let wanted = OnAirPicture {
            from: from.clone(),
            keep_in: keep_in.clone().filter(|_| first),
            patch: patched.clone().filter(|_| first),
            covered: frame.whole_picture(),
        };
        on_air.set_if_neq(wanted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::core_pipeline::tonemapping::Tonemapping;

    fn view(x: f32) -> View {
        View {
            transform: Transform::from_xyz(x, 1.5, 5.0).looking_at(Vec3::Y, Vec3::Y),
            fov: 0.8,
            ev100: 8.0,
            tonemapping: Tonemapping::TonyMcMapface,
            size: UVec2::new(1280, 720),
        }
    }

    /// `n` empty slots, as [`Kept::ready`] makes them, and the picture's image.
    fn kept_and_picture(n: usize) -> (Kept, Handle<Image>) {
        let mut images = Assets::<Image>::default();
        let picture = images.add(Image::default());
        let mut slot = || Slot {
            image: images.add(Image::default()),
            view: None,
            generation: 0,
            used: 0,
            pending: Vec::new(),
        };
        let slots = (0..n).map(|_| slot()).collect();
        (Kept { slots, ..default() }, picture)
    }

    fn kept(n: usize) -> Kept {
        kept_and_picture(n).0
    }

    #[test]
    fn a_cut_back_finds_its_backdrop_until_the_set_changes() {
        let mut kept = kept(2);
        kept.keep(view(0.0));
        assert_eq!(kept.of(&view(0.0)), kept.keeping);
        assert_eq!(kept.of(&view(1.0)), None);
        kept.invalidate();
        assert_eq!(kept.of(&view(0.0)), None, "kept across a change of the set");
        // Drawn again, it goes where its view was.
        let before = kept.keeping;
        kept.keep(view(0.0));
        assert_eq!((kept.of(&view(0.0)), kept.keeping), (before, before));
    }

    #[test]
    fn a_screens_new_numbers_wait_in_each_kept_backdrop_until_it_is_shown() {
        let screen = World::new().spawn_empty().id();
        let mut kept = kept(3);
        kept.keep(view(0.0));
        let wide = kept.keeping.unwrap();
        kept.keep(view(1.0));
        let close = kept.keeping.unwrap();
        kept.screens_changed(&[screen]);
        kept.screens_changed(&[screen]);
        // Still kept (not stale), each with the screen to draw into it, once.
        assert_eq!(kept.of(&view(0.0)), Some(wide));
        assert_eq!(kept.show(wide), vec![screen]);
        kept.caught_up();
        assert_eq!(kept.show(wide), Vec::<Entity>::new());
        // Changed while one is shown: drawn into that one on air, still pending elsewhere.
        kept.screens_changed(&[screen]);
        kept.caught_up();
        assert_eq!(kept.show(wide), Vec::<Entity>::new());
        assert_eq!(kept.show(close), vec![screen]);
        // Kept anew, the patch of that frame in it already.
        kept.screens_changed(&[screen]);
        kept.keep(view(1.0));
        assert_eq!(kept.show(close), Vec::<Entity>::new());
    }

    #[test]
    fn a_view_a_hair_away_is_the_same_view_and_another_lens_is_not() {
        let mut kept = kept(1);
        kept.keep(view(0.0));
        assert!(kept.of(&view(2e-6)).is_some());
        assert_eq!(kept.of(&view(1e-3)), None);
        let wider = View {
            fov: 0.9,
            ..view(0.0)
        };
        let smaller = View {
            size: UVec2::new(640, 360),
            ..view(0.0)
        };
        assert_eq!((kept.of(&wider), kept.of(&smaller)), (None, None));
    }

    #[test]
    fn room_is_made_by_the_backdrop_unused_longest() {
        let (mut kept, picture) = kept_and_picture(2);
        for (clock, x) in [(1, 0.0), (2, 1.0)] {
            kept.clock = clock;
            kept.keep(view(x));
        }
        // The first view is cut back to, so the second is the one unused longest.
        kept.clock = 3;
        let first = kept.of(&view(0.0)).unwrap();
        kept.show(first);
        kept.clock = 4;
        kept.keep(view(2.0));
        assert_eq!(kept.of(&view(1.0)), None);
        assert_eq!(kept.of(&view(0.0)), Some(first));
        assert!(kept.of(&view(2.0)).is_some());
        // What the compositors copy from: the kept image shown, else the picture.
        assert_ne!(kept.slots[first].image, picture);
        assert_eq!(kept.images(&picture).0, kept.slots[first].image);
        kept.shown = None;
        assert_eq!(kept.images(&picture).0, picture);
    }
}
