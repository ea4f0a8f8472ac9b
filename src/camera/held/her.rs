//! What the host camera must draw besides the host on held frames, and the backdrop without
//! her.
//!
//! The backdrop is the set alone: on the set frame that starts a held shot the on-air
//! camera leaves the host out, and the host camera draws her over it, as on every held
//! frame after. Each frame then needs, of the set, only what changes with her: what her
//! shadow may fall on (the floor under her, a plinth beside her) and what may stand in
//! front of her or of those. Everything else in her rectangle is already in the backdrop,
//! and the host camera's image is transparent there. On two cores the rest of the set in
//! her rectangle (the wall, the props behind her) was two thirds of a held 720p frame.
//!
//! What her shadow falls on may reach far behind her (a floor runs on under the back
//! wall), and the wall is not drawn: so the host camera draws nothing farther than the
//! farthest point of her and her shadow ([`Clipped`]). Every other piece nearer than that
//! may hide something it draws (a plinth, the floor behind it), and is drawn as its
//! holdout ([`super::holdout`]): depth, and a transparent colour.

use super::boxes::{in_its_shadow, world_box};
use super::catcher::{Caster, Catcher, SetCasters, set_may_shade};
use super::holdout::{Holdout, Twinned};
use super::patch::PatchCamera;
use super::tiles::{Tile, Tiled, ToCut};
use super::{Frame, HostCamera};
use crate::scene::{ActiveCamera, corners};
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::VisibleEntities;
use bevy::camera::{CameraProjection, SubCameraView};
use bevy::ecs::entity::EntityHashSet;
use bevy::math::Vec3A;
use bevy::prelude::*;
use std::any::TypeId;

/// The host as the filter needs her this frame; `None` on frames without her.
#[derive(Resource, Default)]
pub(super) struct Her(pub(super) Option<Needs>);

/// What decides which set pieces the host camera draws with her.
#[derive(Debug, Clone, Default)]
pub(super) struct Needs {
    /// Her meshes.
    pub(super) meshes: EntityHashSet,
    /// Where each light that casts shadows shines.
    pub(super) lights: Vec<Dir3>,
    /// Where each of her parts may cast its shadow.
    pub(super) shades: Vec<Shade>,
    /// Where the camera is and where it looks.
    pub(super) eye: Vec3,
    pub(super) forward: Vec3,
    /// How far along `forward` the host camera draws: past her and her shadow.
    pub(super) far: f32,
    /// The height her feet rest at: her lowest point, and the room her parts are padded
    /// by (her bounds reach a little below the floor she stands on); raised to the top of
    /// the piece she stands on where one is found ([`Needs::standing_on`]).
    pub(super) ground: f32,
    /// Where the picture sees the world, to tell whether one box may hide another on
    /// screen; `None`: wherever their depths allow.
    pub(super) clip_from_world: Option<Mat4>,
}

/// Where one of her parts may cast its shadow.
#[derive(Debug, Clone)]
pub(super) struct Shade {
    /// The part (padded) and where it is cast on the floor, as one box.
    pub(super) bounds: (Vec3, Vec3),
    /// The part itself (padded), and its bones.
    pub(super) part: (Vec3, Vec3),
    /// Its bones, swept along their motion and padded less than the part
    /// ([`super::BONE_PAD`]): what casts its shadow. The part itself when it has none
    /// ([`super::parts`]).
    pub(super) bones: Vec<(Vec3, Vec3)>,
    /// Where it is cast on the floor under her (flat), from every light; the part itself
    /// without shadow-casting lights.
    pub(super) footprint: (Vec3, Vec3),
}

impl Needs {
    /// Whether a set piece with world box `piece` must be drawn as itself with her: her
    /// shadow may fall on it, or it may stand between the camera and her or where her
    /// shadow falls on the floor.
    pub(super) fn piece(&self, piece: (Vec3, Vec3)) -> bool {
        self.shaded(piece) || self.hides(piece)
    }

    /// Whether her shadow may fall on the box `piece`: the box of one of her parts' bones,
    /// moved along one light, meets it. (Without shadow-casting lights, whether it meets a
    /// part or where the part is cast.)
    pub(super) fn shaded(&self, piece: (Vec3, Vec3)) -> bool {
        if self.lights.is_empty() {
            let meets = |b: (Vec3, Vec3)| piece.0.cmple(b.1).all() && piece.1.cmpge(b.0).all();
            return self
                .shades
                .iter()
                .any(|s| meets(s.part) || meets(s.footprint));
        }
        let cast_on = |shade: &Shade| {
            (self.lights.iter()).any(|toward| {
                let cast = |bone| in_its_shadow(bone, piece, (*toward).into());
                // The part's box holds its bones: most pieces are passed by it.
                cast(shade.part) && shade.bones.iter().copied().any(cast)
            })
        };
        self.shades.iter().any(cast_on)
    }

    /// The top of the piece she stands on, of `pieces`: the highest one that reaches under
    /// the middle of her, with its top in her lowest quarter. Her skinned bounds may reach
    /// well below the floor (the demo's robot's by 10 cm, a joint's box turned with the
    /// joint), and the floor then seemed to stand before her feet: drawn lit, tile by
    /// tile, where its holdout and catchers would do (docs/performance.md).
    pub(super) fn standing_on(&self, pieces: impl Iterator<Item = (Vec3, Vec3)>) -> Option<f32> {
        let (lo, hi) = super::around(self.shades.iter().map(|s| s.part))?;
        let middle = (lo + hi) / 2.0;
        let lowest_quarter = lo.y + (hi.y - lo.y) / 4.0;
        let under = |(p_lo, p_hi): &(Vec3, Vec3)| {
            (p_lo.x..=p_hi.x).contains(&middle.x)
                && (p_lo.z..=p_hi.z).contains(&middle.z)
                && (lo.y..=lowest_quarter).contains(&p_hi.y)
        };
        pieces.filter(under).map(|(_, top)| top.y).reduce(f32::max)
    }

    /// Whether the box `piece` may stand between the camera and one of her parts or where
    /// its shadow falls on the floor. (Where it falls on a piece, that piece is drawn as
    /// itself and whatever hides it as its holdout, as over the floor.) What lies under her
    /// feet, seen from above, hides at most her soles, and its holdout hides them as well:
    /// the floor before her is not drawn lit for that.
    fn hides(&self, piece: (Vec3, Vec3)) -> bool {
        let underfoot = piece.1.y <= self.ground && self.eye.y > self.ground;
        let may_hide =
            |s: &Shade| self.may_hide(piece, s.part) || self.may_hide(piece, s.footprint);
        !underfoot && self.within(piece) && self.shades.iter().any(may_hide)
    }

    /// Whether any of the box `piece` may stand between the camera and any of the box
    /// `seen`: no wall between them puts it behind, some of it is nearer than all of
    /// `seen` is far, and the two overlap in the picture.
    pub(super) fn may_hide(&self, piece: (Vec3, Vec3), seen: (Vec3, Vec3)) -> bool {
        let nearer =
            depths(piece, self.eye, self.forward).0 < depths(seen, self.eye, self.forward).1;
        let overlap_in_picture = |clip_from_world: Mat4| match (
            on_screen(piece, clip_from_world),
            on_screen(seen, clip_from_world),
        ) {
            (Some(a), Some(b)) => a.0.cmple(b.1).all() && b.0.cmple(a.1).all(),
            _ => true,
        };
        !behind_a_wall(piece, seen, self.eye)
            && nearer
            && self.clip_from_world.is_none_or(overlap_in_picture)
    }

    /// Whether the box `piece` may hide anything the host camera draws for her: any of it is
    /// nearer than [`Self::far`], unless it lies wholly below all she needs with the camera
    /// above it (a floor under the floor), or wholly above with the camera below (the
    /// ceiling). Such a piece is drawn at least as a holdout ([`super::holdout`]).
    pub(super) fn within(&self, (lo, hi): (Vec3, Vec3)) -> bool {
        let (near, _) = depths((lo, hi), self.eye, self.forward);
        let heights = self.shades.iter().map(|s| (s.bounds.0.y, s.bounds.1.y));
        let (low, high) = heights.fold((f32::MAX, f32::MIN), |(l, h), (a, b)| (l.min(a), h.max(b)));
        let below = hi.y <= low && self.eye.y >= hi.y;
        let above = lo.y >= high && self.eye.y <= lo.y;
        near < self.far && !below && !above
    }
}

/// Whether an axis-aligned plane has the box `piece` on one side and both `eye` and the
/// box `seen` on the other: then no line from the eye to what it sees crosses the piece.
fn behind_a_wall((lo, hi): (Vec3, Vec3), (seen_lo, seen_hi): (Vec3, Vec3), eye: Vec3) -> bool {
    let before = hi.cmple(seen_lo) & eye.cmpge(hi);
    let beyond = lo.cmpge(seen_hi) & eye.cmple(lo);
    (before | beyond).any()
}

/// The box `lo`..`hi` in normalised device coordinates, as a rectangle; `None` when any
/// of it is behind the camera. Not [`super::screen_rect`]: that one pads her rectangle
/// for a frame's motion, and with that margin the plinth beside her in the demo's wide
/// shot is drawn again (its opaque pass 41–42 ms against 35–37).
fn on_screen((lo, hi): (Vec3, Vec3), clip_from_world: Mat4) -> Option<(Vec2, Vec2)> {
    let mut rect = (Vec2::MAX, Vec2::MIN);
    for corner in corners(lo, hi) {
        let clip = clip_from_world * corner.extend(1.0);
        if clip.w <= 1e-4 {
            return None;
        }
        let at = clip.truncate().truncate() / clip.w;
        rect = (rect.0.min(at), rect.1.max(at));
    }
    Some(rect)
}

/// How far the host camera must draw to take in her and the boxes her shadow falls in,
/// seen from `eye` along `forward`, with a margin for the anti-aliased edge.
pub(super) fn reach(shades: &[Shade], eye: Vec3, forward: Vec3) -> f32 {
    let farthest = shades.iter().map(|s| depths(s.bounds, eye, forward).1);
    farthest.fold(0.0, f32::max) * 1.02 + 0.05
}

/// The nearest and farthest depths of the box `lo`..`hi` seen from `eye` along `forward`.
fn depths((lo, hi): (Vec3, Vec3), eye: Vec3, forward: Vec3) -> (f32, f32) {
    let depth = corners(lo, hi).map(|p| (p - eye).dot(forward));
    let near = depth.iter().copied().fold(f32::MAX, f32::min);
    let far = depth.iter().copied().fold(f32::MIN, f32::max);
    (near, far)
}

/// The host camera's lens: the on-air camera's, drawing nothing farther than `far`
/// (infinity: all of it). Bevy's perspective has no far plane (reverse depth to infinity);
/// this one maps `far` to depth 0, so what lies beyond is clipped away.
#[derive(Debug, Clone)]
pub(super) struct Clipped {
    pub(super) lens: PerspectiveProjection,
    pub(super) far: f32,
}

impl Clipped {
    /// Whether `other` draws the same.
    pub(super) fn same_as(&self, other: &Clipped) -> bool {
        let (a, b) = (&self.lens, &other.lens);
        (a.fov, a.near, a.aspect_ratio, a.far, self.far)
            == (b.fov, b.near, b.aspect_ratio, b.far, other.far)
    }

    /// `clip_from_view` (Bevy's reverse infinite perspective) with a far plane at `far`:
    /// depth `near / -z` becomes `near (far + z) / (-z (far - near))`, 1 at `near` and 0 at
    /// `far`.
    fn finite(&self, mut clip_from_view: Mat4) -> Mat4 {
        let (near, far) = (self.lens.near, self.far);
        if far.is_finite() && far > near {
            clip_from_view.z_axis.z = near / (far - near);
            clip_from_view.w_axis.z = near * far / (far - near);
        }
        clip_from_view
    }
}

impl CameraProjection for Clipped {
    fn get_clip_from_view(&self) -> Mat4 {
        self.finite(self.lens.get_clip_from_view())
    }

    fn get_clip_from_view_for_sub(&self, sub_view: &SubCameraView) -> Mat4 {
        self.finite(self.lens.get_clip_from_view_for_sub(sub_view))
    }

    /// Bevy passes the sub-view's size; the lens keeps the whole picture's aspect (the
    /// on-air camera's), which the shadow cascades are fitted to.
    fn update(&mut self, _width: f32, _height: f32) {}

    fn far(&self) -> f32 {
        self.far.min(self.lens.far)
    }

    /// The on-air camera's, so the key light's cascades are the backdrop's.
    fn get_frustum_corners(&self, z_near: f32, z_far: f32) -> [Vec3A; 8] {
        self.lens.get_frustum_corners(z_near, z_far)
    }
}

/// Leaves the host out of the on-air camera's view when it draws a backdrop for held
/// frames, and of the set in the host camera's view keeps each piece as itself where she
/// needs it ([`Needs::piece`]), as its holdout where it may only hide what is drawn for
/// her ([`Needs::within`]), and not at all elsewhere. On a glide the host camera draws the
/// whole view, with no holdouts and no tiles. Runs after Bevy's visibility checks, on
/// their lists (which stay sorted).
#[allow(clippy::type_complexity)]
pub(super) fn draw_only_what_she_needs(
    frame: Res<Frame>,
    mut her: ResMut<Her>,
    mut to_cut: ResMut<ToCut>,
    mut on_air: Query<&mut VisibleEntities, (With<ActiveCamera>, Without<HostCamera>)>,
    mut host: Query<&mut VisibleEntities, (With<HostCamera>, Without<ActiveCamera>)>,
    mut patch_camera: Query<
        &mut VisibleEntities,
        (
            With<PatchCamera>,
            Without<HostCamera>,
            Without<ActiveCamera>,
        ),
    >,
    bounds: Query<(&GlobalTransform, &Aabb)>,
    kinds: Kinds,
    stand_ins: Query<(), Or<(With<Holdout>, With<Tile>, With<Catcher>)>>,
    casters: SetCasters,
) {
    let meshes = TypeId::of::<Mesh3d>();
    // The camera drawing a backdrop this frame, or a patch of one (drawn as a backdrop is).
    let (backdrop, needs) = match (*frame, &mut her.0) {
        (Frame::Glide { .. }, _) => {
            if let Ok(mut visible) = host.single_mut() {
                visible.get_mut(meshes).retain(|e| !stand_ins.contains(*e));
            }
            return;
        }
        (Frame::Set { .. }, Some(needs)) => (on_air.single_mut().ok(), needs),
        (Frame::Held { patch, .. }, Some(needs)) => {
            (patch.and_then(|_| patch_camera.single_mut().ok()), needs)
        }
        _ => return,
    };
    if let Some(mut visible) = backdrop {
        visible
            .get_mut(meshes)
            .retain(|e| !needs.meshes.contains(e));
    }
    if let Ok(mut visible) = host.single_mut() {
        let list = visible.get_mut(meshes);
        let set = list.iter().filter(|e| !needs.meshes.contains(*e));
        let boxes = set.filter_map(|e| bounds.get(*e).ok().map(|(t, b)| world_box(t, b)));
        if let Some(top) = needs.standing_on(boxes) {
            needs.ground = needs.ground.max(top + GROUND_TOLERANCE);
        }
        // Only catchers ask what the set shades (none on a GPU, where tiles are lit).
        let catchers = list
            .iter()
            .any(|e| kinds.get(*e).is_ok_and(|k| k.3.is_some()));
        let casters = match catchers {
            true => casters.boxes(&needs.meshes, &needs.lights),
            false => Vec::new(),
        };
        keep_what_she_needs(list, needs, &casters, &bounds, &kinds);
        // Large ones among them are cut into tiles ([`super::tiles`]).
        to_cut.0.clone_from(list);
    }
}

/// How far above the top of the piece she stands on its own tiles and pieces level with
/// it still lie under her feet: room for rounding in their boxes.
const GROUND_TOLERANCE: f32 = 1e-3;

/// Leaves her shadow out of the backdrop: the on-air camera's view of the key light's
/// cascades draws no mesh of hers when it draws a backdrop. Her shadow is the host
/// camera's to draw, where she is now; left in, the backdrop kept it where she stood when
/// the shot began, under what the host camera draws (a catcher darkens it again) and,
/// once she moved, beside it. Runs after Bevy's light visibility checks.
pub(super) fn leave_her_shadow_out_of_the_backdrop(
    frame: Res<Frame>,
    her: Res<Her>,
    on_air: Query<Entity, (With<ActiveCamera>, Without<HostCamera>)>,
    patch_camera: Query<Entity, With<PatchCamera>>,
    mut lights: Query<&mut bevy::camera::visibility::CascadesVisibleEntities>,
) {
    let Some(needs) = &her.0 else {
        return;
    };
    // The camera drawing a backdrop this frame, or a patch of one.
    let camera = match *frame {
        Frame::Set { .. } => on_air.single(),
        Frame::Held { patch: Some(_), .. } => patch_camera.single(),
        _ => return,
    };
    let Ok(camera) = camera else {
        return;
    };
    for mut cascades in &mut lights {
        let Some(views) = cascades.entities.get_mut(&camera) else {
            continue;
        };
        for cascade in views {
            cascade.entities.retain(|e| !needs.meshes.contains(e));
        }
    }
}

/// What a mesh is to the host camera: the holdout of a piece (which one), a piece with a
/// holdout, a piece drawn as its tiles, the catcher of a tile (which one); and its parent.
pub(super) type Kinds<'w, 's> = Query<
    'w,
    's,
    (
        Option<&'static Holdout>,
        Has<Twinned>,
        Has<Tiled>,
        Option<&'static Catcher>,
        Option<&'static ChildOf>,
    ),
>;

/// Of the host camera's meshes `list`, keeps her, each set piece (or tile of one) she
/// needs as itself, and the holdout of each that may only hide what is drawn for her. A
/// piece cut into tiles is left to its tiles; a tile she needs only for her shadow, that
/// none of the set's `casters` may shade, to its catcher ([`super::catcher`]).
pub(super) fn keep_what_she_needs(
    list: &mut Vec<Entity>,
    needs: &Needs,
    casters: &[Caster],
    bounds: &Query<(&GlobalTransform, &Aabb)>,
    kinds: &Kinds,
) {
    let piece_box = |e: &Entity| bounds.get(*e).ok().map(|(t, aabb)| world_box(t, aabb));
    let kind = |e: &Entity| {
        let kind = kinds.get(*e).ok();
        kind.map_or((None, false, false), |(h, twinned, tiled, _, _)| {
            (h.map(|h| h.0), twinned, tiled)
        })
    };
    let catcher_of = |e: &Entity| kinds.get(*e).ok().and_then(|k| k.3).map(|c| c.0);
    // Pieces without a twin (a blended material: light passes through) are drawn as
    // themselves; so is what they may hide, or they would be blended over nothing here
    // and then over their own copy in the backdrop.
    let untwinned = |e: &&Entity| {
        !needs.meshes.contains(*e) && kind(e) == (None, false, false) && catcher_of(e).is_none()
    };
    let see_through: Vec<_> = (list.iter().filter(untwinned))
        .filter_map(piece_box)
        .filter(|piece| needs.within(*piece))
        .collect();
    let behind_glass = |piece| {
        see_through
            .iter()
            .any(|glass| needs.may_hide(*glass, piece))
    };
    let itself = |piece| needs.piece(piece) || behind_glass(piece);
    // A tile she needs only for her shadow, out of the set's: its catcher draws it.
    let parent = |e: &Entity| kinds.get(*e).ok().and_then(|k| k.4).map(|c| c.0);
    let catches = |tile: Entity, piece| {
        let own = |caster| std::iter::successors(Some(tile), parent).any(|a| a == caster);
        !needs.lights.is_empty()
            && needs.shaded(piece)
            && !needs.hides(piece)
            && !behind_glass(piece)
            && !set_may_shade(casters, &needs.lights, piece, own)
    };
    // The tiles drawn by their catchers, each decided once (a tile cut again has none).
    let caught: EntityHashSet = (list.iter().filter_map(catcher_of))
        .filter(|tile| !kind(tile).2)
        .filter(|tile| piece_box(tile).is_some_and(|piece| catches(*tile, piece)))
        .collect();
    list.retain(|e| {
        if needs.meshes.contains(e) {
            return true;
        }
        if let Some(tile) = catcher_of(e) {
            return caught.contains(&tile);
        }
        let (holdout_of, twinned, tiled) = kind(e);
        if tiled || holdout_of.is_some_and(|of| kind(&of).2) {
            return false;
        }
        // A mesh without bounds is drawn: nothing says where it is.
        let Some(piece) = piece_box(e) else {
            return true;
        };
        match holdout_of {
            // The twin's box is its piece's; none stands in for her.
            Some(of) => !needs.meshes.contains(&of) && !itself(piece) && needs.within(piece),
            None if twinned => itself(piece) && !caught.contains(e),
            None => needs.within(piece) || needs.piece(piece),
        }
    });
}
