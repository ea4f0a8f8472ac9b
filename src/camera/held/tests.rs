use super::*;
use bevy::camera::primitives::Aabb;

/// A camera at (0, 1, 5) looking at (0, 1, 0) with a 50° lens, for a 1280×720 picture.
fn clip_from_world() -> Mat4 {
    let transform =
        Transform::from_xyz(0.0, 1.0, 5.0).looking_at(Vec3::new(0.0, 1.0, 0.0), Vec3::Y);
    let clip = Mat4::perspective_infinite_reverse_rh(50f32.to_radians(), 16.0 / 9.0, 0.1);
    clip * transform.to_matrix().inverse()
}

const SIZE: UVec2 = UVec2::new(1280, 720);

#[test]
fn a_point_ahead_lands_where_the_lens_puts_it() {
    let centre = screen_rect(&[Vec3::new(0.0, 1.0, 0.0)], clip_from_world(), SIZE).unwrap();
    assert_eq!(centre.min, UVec2::new(640 - 6, 360 - 6));
    assert_eq!(centre.max, UVec2::new(640 + 6, 360 + 6));
    // Half the vertical field of view up is the top edge (clamped to the picture).
    let up = 5.0 * 25f32.to_radians().tan() * 0.99;
    let top = screen_rect(&[Vec3::new(0.0, 1.0 + up, 0.0)], clip_from_world(), SIZE).unwrap();
    assert_eq!(top.min.y, 0);
    assert!(top.max.y <= 11, "{top:?}");
}

#[test]
fn beside_the_camera_reaches_the_edge_and_out_of_sight_is_nowhere() {
    // From the middle of the picture to beside the camera, on its left: the rectangle
    // runs from the middle to the left edge.
    let points = [Vec3::new(0.0, 1.0, 0.0), Vec3::new(-1.0, 1.0, 6.0)];
    let rect = screen_rect(&points, clip_from_world(), SIZE).unwrap();
    assert_eq!(rect.min.x, 0, "{rect:?}");
    assert!((634..=646).contains(&rect.max.x), "{rect:?}");
    let behind = [Vec3::new(0.0, 1.0, 7.0), Vec3::new(1.0, 1.0, 6.0)];
    assert_eq!(screen_rect(&behind, clip_from_world(), SIZE), None);
    let far_left = [Vec3::new(-40.0, 1.0, 0.0), Vec3::new(-30.0, 2.0, -1.0)];
    assert_eq!(screen_rect(&far_left, clip_from_world(), SIZE), None);
    // Behind and to the left, reaching forward but never into the picture.
    let beside = [Vec3::new(-3.0, 1.0, 6.0), Vec3::new(-4.0, 1.0, 3.0)];
    assert_eq!(screen_rect(&beside, clip_from_world(), SIZE), None);
}

#[test]
fn shadows_fall_along_the_light_to_the_floor() {
    let down_and_back = Dir3::new(Vec3::new(0.0, -1.0, -1.0)).unwrap();
    let shadow = shadow_on_floor(&[Vec3::new(0.0, 2.0, 0.0)], down_and_back, 0.0).unwrap();
    assert!(
        (shadow[0] - Vec3::new(0.0, 0.0, -2.0)).length() < 1e-5,
        "{shadow:?}"
    );
    // A light skimming the horizon throws shadows too far to bound.
    let level = Dir3::new(Vec3::new(1.0, -0.01, 0.0)).unwrap();
    assert!(shadow_on_floor(&[Vec3::Y], level, 0.0).is_none());
}

#[test]
fn held_rectangles_grow_to_steps_inside_the_picture() {
    let rect = grown(URect::new(1250, 700, 1270, 715), SIZE);
    assert_eq!((rect.width(), rect.height()), (STEP, STEP));
    assert!(rect.max.x <= SIZE.x && rect.max.y <= SIZE.y, "{rect:?}");
    assert!(rect.min.x <= 1250 && rect.min.y <= 700);
    let all = grown(URect::new(0, 0, 1270, 710), SIZE);
    assert_eq!(all, URect::new(0, 0, SIZE.x, SIZE.y));
}

#[test]
fn corners_span_the_box() {
    let c = corners(Vec3::ZERO, Vec3::ONE);
    assert_eq!(c.iter().filter(|p| **p == Vec3::ZERO).count(), 1);
    assert_eq!(c.iter().filter(|p| **p == Vec3::ONE).count(), 1);
    let sum: Vec3 = c.iter().copied().sum();
    assert_eq!(sum, Vec3::splat(4.0));
}

#[test]
fn glides_are_drawn_at_their_scale_and_never_tiny() {
    // `auto`: full size on a GPU; on a CPU half, but never fewer pixels than 640×360.
    assert_eq!(glide_scale(0.0, false, SIZE), 1.0);
    assert_eq!(glide_scale(0.0, true, SIZE), 0.5);
    assert_eq!(glide_scale(0.0, true, UVec2::new(720, 1280)), 0.5);
    assert_eq!(glide_scale(0.0, true, UVec2::new(1920, 1080)), 0.5);
    assert_eq!(glide_scale(0.0, true, UVec2::new(640, 360)), 1.0);
    assert_eq!(glide_scale(0.0, true, UVec2::new(320, 180)), 1.0);
    let between = glide_scale(0.0, true, UVec2::new(960, 540));
    assert!((between - 2.0 / 3.0).abs() < 1e-5, "{between}");
    // Set: as set, within 0.25–1.
    assert_eq!(glide_scale(0.5, true, UVec2::new(320, 180)), 0.5);
    assert_eq!(glide_scale(0.1, false, SIZE), 0.25);
    assert_eq!(scaled(SIZE, 0.5), UVec2::new(640, 360));
    assert_eq!(scaled(UVec2::new(20, 20), 0.25), UVec2::splat(16));
    assert_eq!(scaled(UVec2::new(8, 8), 0.25), UVec2::splat(8));
}

#[test]
fn a_large_host_is_drawn_smaller_within_her_share_of_pixels() {
    let rect = |w, h| URect::new(0, 0, w, h);
    // The wide shot's rectangle (under 0.15 of 1280×720) is drawn as it is, on any renderer.
    assert_eq!(host_scale(0.0, true, SIZE, rect(416, 288)), 1.0);
    // A close-up's: as many pixels as 0.15 of the picture, on a CPU renderer only.
    let close = host_scale(0.0, true, SIZE, rect(512, 384));
    let pixels = 512.0 * 384.0 * close * close;
    assert!((pixels / (1280.0 * 720.0) - 0.15).abs() < 1e-4, "{close}");
    assert_eq!(host_scale(0.0, false, SIZE, rect(512, 384)), 1.0);
    // Never under 0.7 of her sides, however large she is.
    assert_eq!(
        host_scale(0.0, true, SIZE, rect(1280, 720)),
        LEAST_HOST_SCALE
    );
    // `auto` leaves a small picture alone: its frames are mostly fixed costs.
    assert_eq!(
        host_scale(0.0, true, UVec2::new(256, 144), rect(256, 144)),
        1.0
    );
    // Set: that share of this picture, on any renderer; 1 never draws her smaller.
    assert!(host_scale(0.05, false, UVec2::new(256, 144), rect(128, 128)) < 1.0);
    assert_eq!(host_scale(1.0, true, SIZE, rect(1280, 720)), 1.0);
    // The host camera's image is her rectangle at that scale.
    let frame = Frame::Held {
        rect: Some(rect(640, 480)),
        size: SIZE,
        scale: 0.75,
        patch: None,
    };
    let part = frame.host_part().unwrap();
    assert_eq!(
        (part.place.size(), part.image),
        (UVec2::new(640, 480), UVec2::new(480, 360))
    );
}

/// The host standing at the origin, 1.8 m tall, seen from (0, 1.5, 5), her shadow falling
/// back to z = -1.
fn her_needs() -> her::Needs {
    let body = (Vec3::new(-0.4, -0.05, -0.3), Vec3::new(0.4, 1.8, 0.3));
    let shades = vec![her::Shade {
        bounds: (body.0 - Vec3::new(0.0, 0.0, 0.7), body.1),
        part: body,
        bones: vec![body],
        footprint: (Vec3::new(-0.4, -0.05, -1.0), Vec3::new(0.4, 0.0, -0.3)),
    }];
    let (eye, forward) = (Vec3::new(0.0, 1.5, 5.0), Vec3::NEG_Z);
    her::Needs {
        far: her::reach(&shades, eye, forward),
        ground: 0.05,
        shades,
        eye,
        forward,
        ..default()
    }
}

#[test]
fn she_is_drawn_with_what_her_shadow_falls_on_and_what_stands_before_her() {
    let needs = her_needs();
    let floor = (Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    assert!(needs.piece(floor), "her shadow falls on the floor");
    let counter_before_her = (Vec3::new(-0.5, 0.0, 1.5), Vec3::new(0.5, 1.0, 2.0));
    assert!(needs.piece(counter_before_her), "it hides her legs");
    let plinth_beside_her_shadow = (Vec3::new(0.2, 0.0, -1.2), Vec3::new(1.2, 0.9, -0.4));
    assert!(
        needs.piece(plinth_beside_her_shadow),
        "her shadow reaches it"
    );
    let back_wall = (Vec3::new(-8.0, 0.0, -4.1), Vec3::new(8.0, 5.0, -3.9));
    assert!(!needs.piece(back_wall), "behind all she needs");
    let prop_far_behind = (Vec3::new(2.0, 0.9, -2.0), Vec3::new(2.6, 1.4, -1.6));
    assert!(!needs.piece(prop_far_behind));
    // Behind her shadow, but nearer than its far corner: the floor drawn for her shadow
    // runs on behind it, and would be drawn over it.
    let plinth_behind_her_shadow = (Vec3::new(-0.5, 0.0, -1.8), Vec3::new(0.5, 0.9, -1.05));
    assert!(!needs.piece(plinth_behind_her_shadow));
    assert!(
        needs.within(plinth_behind_her_shadow),
        "held out: it hides floor drawn for her"
    );
    let plinth_beside_her = (Vec3::new(0.9, 0.0, -0.5), Vec3::new(1.6, 0.9, 0.5));
    assert!(!needs.piece(plinth_beside_her) && needs.within(plinth_beside_her));
    let camera_beside = her::Needs {
        eye: Vec3::new(5.0, 1.5, 0.0),
        ..her_needs()
    };
    assert!(
        camera_beside.piece(plinth_beside_her),
        "between her and the camera"
    );
    let ceiling = (Vec3::new(-8.0, 5.0, -6.0), Vec3::new(8.0, 5.0, 6.0));
    assert!(!needs.piece(ceiling), "above her, the camera below it");
    // The floor before her, where her shadow does not fall, hides at most her soles: its
    // holdout does that, and it is not drawn lit.
    let floor_before_her = (Vec3::new(-0.5, 0.0, 0.5), Vec3::new(0.5, 0.0, 1.5));
    assert!(!needs.piece(floor_before_her) && needs.within(floor_before_her));
    let rug_in_front = (Vec3::new(-1.0, -0.2, 1.0), Vec3::new(1.0, -0.1, 3.0));
    assert!(
        !needs.piece(rug_in_front),
        "below her feet, the camera above it"
    );
}

/// Seen from the side, a plinth behind her and beside her shadow stands on no line from
/// the camera to her or her shadow, though no wall parts them: it is held out (its pixels
/// come from the backdrop), where without the picture's view it was drawn as itself.
#[test]
fn what_stands_beside_her_and_her_shadow_in_the_picture_is_held_out() {
    let eye = Vec3::new(3.0, 1.5, 5.0);
    let view = Transform::from_translation(eye).looking_at(Vec3::ZERO, Vec3::Y);
    let lens = Mat4::perspective_infinite_reverse_rh(50f32.to_radians(), 16.0 / 9.0, 0.1);
    let blind = her::Needs {
        eye,
        forward: view.forward().into(),
        ..her_needs()
    };
    let blind = her::Needs {
        far: her::reach(&blind.shades, eye, blind.forward),
        ..blind
    };
    let seeing = her::Needs {
        clip_from_world: Some(lens * view.to_matrix().inverse()),
        ..blind.clone()
    };
    let plinth = (Vec3::new(1.0, 0.0, -1.2), Vec3::new(1.5, 0.9, -0.8));
    assert!(
        blind.within(plinth) && blind.piece(plinth),
        "no wall between them"
    );
    assert!(!seeing.piece(plinth), "beside her shadow in the picture");
    assert!(
        seeing.within(plinth),
        "still held out: it may hide the floor drawn for her"
    );
    let counter = (Vec3::new(1.2, 0.0, 2.2), Vec3::new(1.8, 1.0, 2.8));
    assert!(seeing.piece(counter), "between the camera and her");
    let floor = (Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    assert!(seeing.piece(floor), "her shadow falls on it");
}

#[test]
fn the_host_camera_draws_no_farther_than_she_needs() {
    let needs = her_needs();
    // Her shadow's far edge is 6 m from the camera.
    assert!(needs.far > 6.0 && needs.far < 6.5, "{}", needs.far);
    let lens = PerspectiveProjection {
        aspect_ratio: 16.0 / 9.0,
        ..default()
    };
    let depth = |clipped: &her::Clipped, z: f32| {
        let clip = bevy::camera::CameraProjection::get_clip_from_view(clipped)
            * Vec4::new(0.0, 0.0, -z, 1.0);
        clip.z / clip.w
    };
    let near = lens.near;
    let clipped = her::Clipped {
        lens: lens.clone(),
        far: needs.far,
    };
    assert!((depth(&clipped, near) - 1.0).abs() < 1e-4);
    assert!(depth(&clipped, needs.far).abs() < 1e-4);
    assert!(depth(&clipped, 5.0) > 0.0 && depth(&clipped, needs.far + 0.5) < 0.0);
    // Unclipped, it is Bevy's own lens.
    let all = her::Clipped {
        lens: lens.clone(),
        far: f32::INFINITY,
    };
    let bevy = bevy::camera::CameraProjection::get_clip_from_view(&lens);
    assert_eq!(
        bevy::camera::CameraProjection::get_clip_from_view(&all),
        bevy
    );
}

#[test]
fn her_shadow_is_cast_part_by_part() {
    // A body 1.8 m tall with one arm held out at shoulder height, lit from above and in
    // front: the box around her all would cast the arm's far corner from 1.8 m up.
    let body = (Vec3::new(-0.2, 0.0, -0.2), Vec3::new(0.2, 1.8, 0.2));
    let arm = (Vec3::new(0.2, 1.3, -0.05), Vec3::new(1.0, 1.4, 0.05));
    let down_and_back = Dir3::new(Vec3::new(0.0, -1.0, -1.0)).unwrap();
    let lights = vec![down_and_back];
    let (shades, points) = shades_of(
        &[parts::Part::rigid(body), parts::Part::rigid(arm)],
        &lights,
    )
    .unwrap();
    assert_eq!((shades.len(), points.len()), (2, 32));
    let pad = 1.8 * PAD_FRACTION;
    // The arm's shadow reaches 1.4 m (and the pad) back, the head's 1.8 m.
    assert!(
        (shades[1].bounds.0.z - (-0.05 - pad - 1.4 - 2.0 * pad)).abs() < 1e-4,
        "{shades:?}"
    );
    assert!(
        (shades[0].bounds.0.z - (-0.2 - pad - 1.8 - 2.0 * pad)).abs() < 1e-4,
        "{shades:?}"
    );
    let needs = her::Needs {
        lights,
        shades,
        ..default()
    };
    // Behind her right, where only the box around her all would cast a shadow.
    let plinth = (Vec3::new(0.5, 0.0, -2.6), Vec3::new(1.2, 0.9, -1.9));
    assert!(!needs.shaded(plinth), "no part of her casts a shadow there");
    let beside_her = (Vec3::new(0.5, 0.0, -0.2), Vec3::new(1.2, 1.0, 0.2));
    assert!(needs.shaded(beside_her), "under her arm");
    // In the box the arm's shadow falls in, but high and far back: the arm's shadow
    // falls short of it.
    let shelf = (Vec3::new(0.5, 1.2, -1.5), Vec3::new(0.9, 1.4, -1.3));
    assert!(needs.shades[1].bounds.0.cmple(shelf.0).all());
    assert!(!needs.shaded(shelf), "the arm's shadow passes under it");
    assert!(shades_of(&[], &needs.lights).is_none());
}

#[test]
fn her_shadow_is_cast_bone_by_bone() {
    // One skinned mesh, 1.8 m tall, with an arm held out: its box takes in the air under
    // the arm; its bones do not. Lit from above and in front.
    let body = (Vec3::new(-0.2, 0.0, -0.2), Vec3::new(0.2, 1.8, 0.2));
    let arm = (Vec3::new(0.2, 1.3, -0.05), Vec3::new(1.0, 1.4, 0.05));
    let mesh = parts::Part {
        whole: (body.0, arm.1.max(body.1)),
        bones: vec![body, arm],
    };
    let lights = vec![Dir3::new(Vec3::new(0.0, -1.0, -1.0)).unwrap()];
    let needs_of = |part: parts::Part| her::Needs {
        lights: lights.clone(),
        shades: shades_of(&[part], &lights).unwrap().0,
        ..default()
    };
    let needs = needs_of(mesh.clone());
    // Under the arm's far end, low: the mesh's box casts there, the bones do not.
    let low_box = (Vec3::new(0.6, 0.0, -0.7), Vec3::new(0.9, 0.3, -0.5));
    assert!(!needs.shaded(low_box), "no bone casts a shadow there");
    let rigid = needs_of(parts::Part::rigid(mesh.whole));
    assert!(rigid.shaded(low_box), "the mesh's box would");
    // Where the arm's shadow falls on the floor.
    let under_arm = (Vec3::new(0.5, 0.0, -1.5), Vec3::new(0.7, 0.0, -1.3));
    assert!(needs.shaded(under_arm));
}

#[test]
fn a_bone_is_swept_along_its_last_motion() {
    let hand = (Vec3::new(0.0, 1.0, 0.0), Vec3::new(0.1, 1.1, 0.1));
    assert_eq!(parts::swept(hand, Vec3::ZERO), hand);
    let moved = parts::swept(hand, Vec3::new(0.05, -0.02, 0.0));
    assert_eq!(
        moved,
        (Vec3::new(0.0, 0.98, 0.0), Vec3::new(0.15, 1.1, 0.1))
    );
}

/// A world of set pieces with their bounds, and what the host camera keeps of a list of
/// them (`her::keep_what_she_needs`, which runs on Bevy's visible list each held frame).
struct Pieces {
    world: World,
    needs: her::Needs,
    /// The set's shadow casters, as `catcher::SetCasters` finds them.
    casters: Vec<catcher::Caster>,
}

impl Pieces {
    fn new() -> Self {
        Pieces {
            world: World::new(),
            needs: her_needs(),
            casters: Vec::new(),
        }
    }

    fn piece(&mut self, (lo, hi): (Vec3, Vec3)) -> Entity {
        let bounds = (GlobalTransform::IDENTITY, Aabb::from_min_max(lo, hi));
        self.world.spawn(bounds).id()
    }

    /// A piece with its holdout twin, as `holdout` makes them: (piece, twin).
    fn twinned(&mut self, bounds: (Vec3, Vec3)) -> (Entity, Entity) {
        let piece = self.piece(bounds);
        let twin = self.piece(bounds);
        self.world.entity_mut(twin).insert(holdout::Holdout(piece));
        self.world.entity_mut(piece).insert(holdout::Twinned(twin));
        (piece, twin)
    }

    fn kept(&mut self, list: &[Entity]) -> Vec<Entity> {
        type Lookups<'w, 's> = (
            Query<'w, 's, (&'static GlobalTransform, &'static Aabb)>,
            her::Kinds<'w, 's>,
        );
        let mut state = bevy::ecs::system::SystemState::<Lookups>::new(&mut self.world);
        let (bounds, kinds) = state.get(&self.world).expect("queries on a world");
        let mut list = list.to_vec();
        her::keep_what_she_needs(&mut list, &self.needs, &self.casters, &bounds, &kinds);
        list
    }
}

#[test]
fn the_host_camera_keeps_her_what_her_shadow_falls_on_and_holdouts_of_what_may_hide_it() {
    let mut pieces = Pieces::new();
    let body = (Vec3::new(-0.4, 0.0, -0.3), Vec3::new(0.4, 1.8, 0.3));
    let her = pieces.piece(body);
    pieces.needs.meshes.insert(her);
    let her_twin = pieces.piece(body);
    pieces
        .world
        .entity_mut(her_twin)
        .insert(holdout::Holdout(her));
    let (floor, floor_twin) =
        pieces.twinned((Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0)));
    let (plinth, plinth_twin) =
        pieces.twinned((Vec3::new(-0.5, 0.0, -1.8), Vec3::new(0.5, 0.9, -1.05)));
    let (wall, wall_twin) = pieces.twinned((Vec3::new(-8.0, 0.0, -4.1), Vec3::new(8.0, 5.0, -3.9)));
    let nowhere = pieces.world.spawn(GlobalTransform::IDENTITY).id();
    let list = [
        her,
        her_twin,
        floor,
        floor_twin,
        plinth,
        plinth_twin,
        wall,
        wall_twin,
        nowhere,
    ];
    // Her; the floor her shadow falls on, as itself; the plinth behind her shadow, which
    // only hides floor drawn for her, as its holdout; the wall not at all. A mesh without
    // bounds is drawn: nothing says where it is.
    assert_eq!(
        pieces.kept(&list),
        [her, floor, plinth_twin, nowhere],
        "her {her}, floor {floor}, plinth's twin {plinth_twin}, nowhere {nowhere}"
    );

    // A pane of glass (no twin: light passes through it) between the camera and her: it
    // is drawn as itself, and so is the plinth it shows, which would otherwise be blended
    // over a holdout's nothing.
    let glass = pieces.piece((Vec3::new(-1.0, 0.0, 2.5), Vec3::new(1.0, 2.0, 2.6)));
    let list = [her, floor, floor_twin, plinth, plinth_twin, glass];
    assert_eq!(pieces.kept(&list), [her, floor, plinth, glass]);
}

/// A floor of 16 × 12 m, as the scene builds it (with UVs, normals, an index list).
fn floor_mesh() -> Mesh {
    Plane3d::default().mesh().size(16.0, 12.0).build()
}

/// The positions of a mesh's triangles, three by three.
fn triangles(mesh: &Mesh) -> Vec<[Vec3; 3]> {
    let Some(bevy::mesh::VertexAttributeValues::Float32x3(positions)) =
        mesh.attribute(Mesh::ATTRIBUTE_POSITION)
    else {
        panic!("no positions");
    };
    let index: Vec<usize> = match mesh.indices() {
        Some(indices) => indices.iter().collect(),
        None => (0..positions.len()).collect(),
    };
    let at = |i: usize| Vec3::from(positions[i]);
    index
        .chunks_exact(3)
        .map(|t| [at(t[0]), at(t[1]), at(t[2])])
        .collect()
}

fn area(mesh: &Mesh) -> f32 {
    let area = |[a, b, c]: [Vec3; 3]| (b - a).cross(c - a).length() / 2.0;
    triangles(mesh).into_iter().map(area).sum()
}

#[test]
fn a_floor_is_cut_into_tiles_that_cover_it_once_with_its_own_attributes() {
    let floor = floor_mesh();
    let bounds = (Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    let tiles = tiles::cut(&floor, bounds, UVec3::new(4, 1, 3)).expect("a plain mesh");
    assert_eq!(tiles.len(), 12);
    let total: f32 = tiles.iter().map(area).sum();
    assert!((total - area(&floor)).abs() < 1e-3, "{total}");
    for tile in &tiles {
        // Each tile lies in one 4 × 4 m cell, and is all of it.
        let corners = triangles(tile).concat();
        let lo = corners.iter().copied().reduce(Vec3::min).unwrap();
        let hi = corners.iter().copied().reduce(Vec3::max).unwrap();
        assert!(
            (hi - lo - Vec3::new(4.0, 0.0, 4.0)).length() < 1e-4,
            "{lo} {hi}"
        );
        assert!((area(tile) - 16.0).abs() < 1e-3);
        // Its UVs run across the whole floor as the floor's do: 0 at one edge, 1 at the
        // other, so a texture lies on the tiles as on the floor.
        let Some(bevy::mesh::VertexAttributeValues::Float32x2(uvs)) =
            tile.attribute(Mesh::ATTRIBUTE_UV_0)
        else {
            panic!("UVs kept");
        };
        for (p, uv) in corners.iter().zip(uvs) {
            let expected = Vec2::new((p.x + 8.0) / 16.0, (p.z + 6.0) / 12.0);
            assert!((Vec2::from(*uv) - expected).length() < 1e-5, "{p} {uv:?}");
        }
        assert!(tile.attribute(Mesh::ATTRIBUTE_NORMAL).is_some());
    }
    // Neighbours share the vertices on the cut between them exactly: no seam.
    let on_cut = |t: &Mesh| {
        let mut xs: Vec<[u32; 3]> = (triangles(t).concat().iter())
            .filter(|p| p.x == -4.0)
            .map(|p| p.to_array().map(f32::to_bits))
            .collect();
        xs.sort();
        xs.dedup();
        xs
    };
    let (left, right) = (on_cut(&tiles[0]), on_cut(&tiles[3]));
    assert_eq!(left.len(), 2);
    assert_eq!(left, right);
}

#[test]
fn meshes_that_cannot_be_cut_are_left_whole() {
    let bounds = (Vec3::splat(-1.0), Vec3::splat(1.0));
    let lines = Mesh::new(
        bevy::mesh::PrimitiveTopology::LineList,
        bevy::asset::RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, vec![[0.0f32; 3]; 2]);
    assert!(tiles::cut(&lines, bounds, UVec3::splat(2)).is_none());
    let skinned = Cuboid::default()
        .mesh()
        .build()
        .with_inserted_attribute(Mesh::ATTRIBUTE_JOINT_INDEX, {
            bevy::mesh::VertexAttributeValues::Uint16x4(vec![[0; 4]; 24])
        });
    assert!(tiles::cut(&skinned, bounds, UVec3::splat(2)).is_none());
    let mut broken = Cuboid::default().mesh().build();
    broken.insert_indices(bevy::mesh::Indices::U32(vec![0, 1, 99]));
    assert!(tiles::cut(&broken, bounds, UVec3::splat(2)).is_none());
    // A box is cut too: eight cells, each a corner of its six faces.
    let cube = Cuboid::default().mesh().build();
    let half = (Vec3::splat(-0.5), Vec3::splat(0.5));
    let cells = tiles::cut(&cube, half, UVec3::splat(2)).unwrap();
    assert_eq!(cells.len(), 8);
    let total: f32 = cells.iter().map(area).sum();
    assert!((total - 6.0).abs() < 1e-4, "{total}");
}

/// A piece with its holdout twin and bounds, as the scene and `holdout` make them.
fn spawn_twinned(world: &mut World, mesh: Handle<Mesh>, aabb: Aabb) -> Entity {
    let piece = (
        Mesh3d(mesh),
        MeshMaterial3d::<StandardMaterial>(Handle::default()),
        GlobalTransform::IDENTITY,
        aabb,
    );
    let piece = world.spawn(piece).id();
    let twin = world.spawn((holdout::Holdout(piece), ChildOf(piece))).id();
    world.entity_mut(piece).insert(holdout::Twinned(twin));
    piece
}

#[test]
fn a_large_piece_drawn_for_her_is_cut_and_its_tiles_again_a_small_one_stays_whole() {
    use bevy::camera::primitives::MeshAabb;
    use bevy::camera::visibility::RenderLayers;
    use bevy::ecs::system::RunSystemOnce;
    use bevy::light::NotShadowCaster;
    let mut world = World::new();
    world.init_resource::<Assets<Mesh>>();
    world.init_resource::<tiles::ToCut>();
    world.init_resource::<Assets<catcher::CatcherMaterial>>();
    let mut materials = Assets::<StandardMaterial>::default();
    materials
        .insert(&Handle::default(), StandardMaterial::default())
        .unwrap();
    world.insert_resource(materials);
    world.insert_resource(crate::scene::LeanLighting);
    let mut meshes = world.resource_mut::<Assets<Mesh>>();
    let (floor, plinth) = (
        meshes.add(floor_mesh()),
        meshes.add(Cuboid::new(0.9, 0.9, 0.9)),
    );
    let floor_box = Aabb::from_min_max(Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    let floor = spawn_twinned(&mut world, floor, floor_box);
    let plinth = spawn_twinned(
        &mut world,
        plinth,
        Aabb::from_min_max(Vec3::ZERO, Vec3::ONE),
    );
    world.resource_mut::<tiles::ToCut>().0 = vec![floor, plinth];
    world.run_system_once(tiles::cut_large_pieces).unwrap();

    let tiles: Vec<Entity> = (world.query_filtered::<Entity, With<tiles::Tile>>())
        .iter(&world)
        .collect();
    // At most four cells along an axis at a time: 4 × 4 of 4 × 3 m.
    assert_eq!(tiles.len(), 16);
    assert!(world.entity(floor).contains::<tiles::Tiled>());
    assert!(!world.entity(plinth).contains::<tiles::Tiled>());
    for tile in &tiles {
        let tile = world.entity(*tile);
        assert_eq!(tile.get::<ChildOf>().map(|c| c.parent()), Some(floor));
        assert_eq!(
            tile.get::<RenderLayers>(),
            Some(&RenderLayers::layer(holdout::LAYER)),
            "the host camera's alone"
        );
        assert!(
            tile.contains::<NotShadowCaster>(),
            "the floor casts its own"
        );
    }
    // Under lean lighting each tile has its catcher, drawing the tile's mesh.
    let mut catchers = world.query::<(&catcher::Catcher, &ChildOf, &Mesh3d)>();
    let caught: Vec<_> = catchers.iter(&world).map(|(c, _, _)| c.0).collect();
    assert_eq!(caught.len(), tiles.len());
    for (of, parent, mesh) in catchers.iter(&world) {
        assert_eq!(parent.parent(), of.0, "a catcher goes with its tile");
        assert_eq!(world.entity(of.0).get::<Mesh3d>(), Some(mesh));
    }
    // A tile drawn for her is cut again, down to half a metre; the plinth is never cut.
    let tile = tiles[0];
    let (mesh, _) = world
        .entity(tile)
        .get::<Mesh3d>()
        .map(|m| (m.0.clone(), ()))
        .unwrap();
    let bounds = world
        .resource::<Assets<Mesh>>()
        .get(&mesh)
        .unwrap()
        .compute_aabb()
        .unwrap();
    let twin = world.spawn((holdout::Holdout(tile), ChildOf(tile))).id();
    world
        .entity_mut(tile)
        .insert((bounds, holdout::Twinned(twin)));
    world.resource_mut::<tiles::ToCut>().0 = vec![tile, plinth];
    world.run_system_once(tiles::cut_large_pieces).unwrap();
    let count = world.query::<&tiles::Tile>().iter(&world).count();
    assert_eq!(count, 16 + 4 * 4, "a 4 × 3 m tile in 1 × 0.75 m ones");
    world.resource_mut::<tiles::ToCut>().0 = vec![plinth];
    world.run_system_once(tiles::cut_large_pieces).unwrap();
    assert_eq!(world.query::<&tiles::Tile>().iter(&world).count(), count);
}

#[test]
fn a_piece_cut_into_tiles_is_drawn_for_her_as_the_tiles_she_needs() {
    let mut pieces = Pieces::new();
    let body = (Vec3::new(-0.4, 0.0, -0.3), Vec3::new(0.4, 1.8, 0.3));
    let her = pieces.piece(body);
    pieces.needs.meshes.insert(her);
    let (floor, floor_twin) =
        pieces.twinned((Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0)));
    pieces.world.entity_mut(floor).insert(tiles::Tiled);
    // Under her shadow, before her feet, and beyond all she needs.
    let (shaded, shaded_twin) =
        pieces.twinned((Vec3::new(-0.5, 0.0, -1.0), Vec3::new(0.5, 0.0, -0.25)));
    let (before, before_twin) =
        pieces.twinned((Vec3::new(-0.5, 0.0, 0.5), Vec3::new(0.5, 0.0, 1.5)));
    let (beyond, beyond_twin) =
        pieces.twinned((Vec3::new(-0.5, 0.0, -3.0), Vec3::new(0.5, 0.0, -2.0)));
    for tile in [shaded, before, beyond] {
        pieces
            .world
            .entity_mut(tile)
            .insert((tiles::Tile, ChildOf(floor)));
    }
    let list = [
        her,
        floor,
        floor_twin,
        shaded,
        shaded_twin,
        before,
        before_twin,
        beyond,
        beyond_twin,
    ];
    // Not the floor nor its holdout: its tiles stand in. The one her shadow falls on as
    // itself, the one before her feet as its holdout (it may hide her soles), none beyond.
    assert_eq!(pieces.kept(&list), [her, shaded, before_twin]);
}

#[test]
fn a_tile_only_her_shadow_falls_on_is_drawn_by_its_catcher_unless_the_set_may_shade_it() {
    let mut pieces = Pieces::new();
    pieces.needs.lights = vec![Dir3::new(Vec3::new(0.0, -1.0, -1.0)).unwrap()];
    let body = (Vec3::new(-0.4, 0.0, -0.3), Vec3::new(0.4, 1.8, 0.3));
    let her = pieces.piece(body);
    pieces.needs.meshes.insert(her);
    let floor_box = (Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    let (floor, _) = pieces.twinned(floor_box);
    pieces.world.entity_mut(floor).insert(tiles::Tiled);
    let shaded_box = (Vec3::new(-0.5, 0.0, -1.0), Vec3::new(0.5, 0.0, -0.25));
    let (shaded, shaded_twin) = pieces.twinned(shaded_box);
    pieces
        .world
        .entity_mut(shaded)
        .insert((tiles::Tile, ChildOf(floor)));
    let catcher = pieces.piece(shaded_box);
    (pieces.world.entity_mut(catcher)).insert((catcher::Catcher(shaded), ChildOf(shaded)));
    let list = [her, shaded, shaded_twin, catcher];
    // Only her shadow falls on the tile: its catcher darkens the backdrop there.
    assert_eq!(pieces.kept(&list), [her, catcher]);
    // The floor the tile is cut from casts no shadow on it.
    pieces.casters = vec![(floor, floor_box)];
    assert_eq!(pieces.kept(&list), [her, catcher]);
    // A shelf the light passes before it reaches the tile: the backdrop has its shadow
    // there, and the tile is drawn lit, as itself.
    let shelf = (Vec3::new(-0.5, 0.5, -0.5), Vec3::new(0.5, 0.6, -0.2));
    pieces.casters.push((Entity::PLACEHOLDER, shelf));
    assert_eq!(pieces.kept(&list), [her, shaded]);
}

#[test]
fn a_one_sided_ceiling_lit_on_its_back_casts_no_shadow_a_plinth_does() {
    use bevy::camera::visibility::InheritedVisibility;
    let mut world = World::new();
    let mut meshes = Assets::<Mesh>::default();
    let plane = meshes.add(Plane3d::default().mesh().size(16.0, 12.0).build());
    let cube = meshes.add(Cuboid::new(1.0, 1.0, 1.0));
    let mut materials = Assets::<StandardMaterial>::default();
    let one_sided = materials.add(StandardMaterial::default());
    let two_sided = materials.add(StandardMaterial {
        double_sided: true,
        cull_mode: None,
        ..default()
    });
    world.insert_resource(meshes);
    world.insert_resource(materials);
    let flat = Aabb::from_min_max(Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    let upside_down = Transform::from_xyz(0.0, 5.0, 0.0)
        .with_rotation(Quat::from_rotation_x(std::f32::consts::PI));
    let mut spawn = |mesh: &Handle<Mesh>, material: &Handle<StandardMaterial>, at, aabb| {
        let piece = (Mesh3d(mesh.clone()), MeshMaterial3d(material.clone()));
        let place = (
            GlobalTransform::from(at),
            aabb,
            InheritedVisibility::VISIBLE,
        );
        world.spawn((piece, place)).id()
    };
    let ceiling = spawn(&plane, &one_sided, upside_down, flat);
    let two_sided_ceiling = spawn(&plane, &two_sided, upside_down, flat);
    let cube_box = Aabb::from_min_max(Vec3::splat(-0.5), Vec3::splat(0.5));
    let plinth = spawn(
        &cube,
        &one_sided,
        Transform::from_xyz(1.0, 0.5, -1.0),
        cube_box,
    );
    let casters = |world: &mut World, light: Vec3| {
        let mut state = bevy::ecs::system::SystemState::<catcher::SetCasters>::new(world);
        let set = state.get(world).expect("the set's casters");
        let lights = [Dir3::new(light).unwrap()];
        let boxes = set.boxes(&Default::default(), &lights);
        boxes.into_iter().map(|(e, _)| e).collect::<Vec<_>>()
    };
    // From above the one-sided ceiling shows the light its back, culled from the map.
    let from_above = casters(&mut world, Vec3::new(-3.0, -8.0, -6.0));
    assert!(!from_above.contains(&ceiling), "{from_above:?}");
    assert!(from_above.contains(&two_sided_ceiling) && from_above.contains(&plinth));
    // From below it shows its face.
    let from_below = casters(&mut world, Vec3::new(0.0, 1.0, 0.0));
    assert!(from_below.contains(&ceiling), "{from_below:?}");
}

#[test]
fn her_shadow_is_left_out_of_a_backdrop_and_kept_for_the_host_camera() {
    use bevy::camera::visibility::{CascadesVisibleEntities, VisibleMeshEntities};
    use bevy::ecs::system::RunSystemOnce;
    let mut world = World::new();
    let (her, plinth) = (world.spawn_empty().id(), world.spawn_empty().id());
    let on_air = world.spawn(ActiveCamera).id();
    let host = world.spawn(HostCamera).id();
    let mut needs = her_needs();
    needs.meshes.insert(her);
    world.insert_resource(her::Her(Some(needs)));
    let both = || {
        vec![VisibleMeshEntities {
            entities: vec![her, plinth],
        }]
    };
    let cascades = CascadesVisibleEntities {
        entities: [(on_air, both()), (host, both())].into_iter().collect(),
    };
    let light = world.spawn(cascades).id();
    let casting = |world: &World, view| {
        let cascades = world
            .entity(light)
            .get::<CascadesVisibleEntities>()
            .unwrap();
        cascades.entities[&view][0].entities.clone()
    };
    // A held frame keeps the backdrop: nothing is drawn for it.
    let size = UVec2::new(1280, 720);
    world.insert_resource(Frame::Held {
        rect: None,
        size,
        scale: 1.0,
        patch: None,
    });
    world
        .run_system_once(her::leave_her_shadow_out_of_the_backdrop)
        .unwrap();
    assert_eq!(casting(&world, on_air), [her, plinth]);
    world.insert_resource(Frame::Set {
        rect: None,
        size,
        scale: 1.0,
    });
    world
        .run_system_once(her::leave_her_shadow_out_of_the_backdrop)
        .unwrap();
    assert_eq!(casting(&world, on_air), [plinth]);
    assert_eq!(
        casting(&world, host),
        [her, plinth],
        "the host camera draws it"
    );
}

#[test]
fn the_host_cameras_map_draws_only_casters_whose_shadow_falls_on_what_she_draws() {
    use bevy::camera::visibility::{CascadesVisibleEntities, VisibleEntities, VisibleMeshEntities};
    use bevy::ecs::system::RunSystemOnce;
    let mut world = World::new();
    let mut needs = her_needs();
    needs.lights = vec![Dir3::NEG_Y];
    let her = world.spawn_empty().id();
    needs.meshes.insert(her);
    world.insert_resource(her::Her(Some(needs)));
    let mut piece = |centre: Vec3, half: Vec3| {
        let aabb = Aabb::from_min_max(-half, half);
        world
            .spawn((GlobalTransform::from_translation(centre), aabb))
            .id()
    };
    // Drawn with her: a plinth beside her, lit; a shelf behind, only as its holdout.
    let plinth = piece(Vec3::new(1.5, 0.5, 0.0), Vec3::splat(0.3));
    let shelf = piece(Vec3::new(-3.0, 0.5, -0.5), Vec3::splat(0.3));
    // The light shines straight down: over her, over the plinth, over the shelf, nowhere.
    let lamp = piece(Vec3::new(0.0, 3.0, 0.0), Vec3::splat(0.1));
    let vase = piece(Vec3::new(1.5, 1.0, 0.0), Vec3::splat(0.1));
    let cake = piece(Vec3::new(-3.0, 1.0, -0.5), Vec3::splat(0.2));
    let far = piece(Vec3::new(9.0, 1.0, 0.0), Vec3::splat(0.2));
    let unbounded = world.spawn_empty().id();
    let holdout = world.spawn(holdout::Holdout(shelf)).id();
    let mut visible = VisibleEntities::default();
    *visible.get_mut(std::any::TypeId::of::<Mesh3d>()) = vec![her, plinth, holdout];
    let host = world.spawn((HostCamera, visible)).id();
    let all = vec![her, plinth, lamp, vase, cake, far, unbounded];
    let cascades = CascadesVisibleEntities {
        entities: [(
            host,
            vec![VisibleMeshEntities {
                entities: all.clone(),
            }],
        )]
        .into(),
    };
    let light = world.spawn(cascades).id();
    let mut casting = |frame: Frame| {
        world.insert_resource(frame);
        world
            .run_system_once(shadow::keep_the_casters_she_needs)
            .unwrap();
        let cascades = world.entity(light).get::<CascadesVisibleEntities>();
        cascades.unwrap().entities[&host][0].entities.clone()
    };
    let size = UVec2::new(1280, 720);
    // A glide draws the whole view: every caster stays.
    assert_eq!(
        casting(Frame::Glide {
            draw: size / 2,
            size,
            multisampled: false,
        }),
        all
    );
    let held = casting(Frame::Held {
        rect: None,
        size,
        scale: 1.0,
        patch: None,
    });
    assert_eq!(held, [her, plinth, lamp, vase, unbounded]);
}

#[test]
fn she_stands_on_the_highest_piece_under_the_middle_of_her() {
    let mut needs = her_needs();
    let floor = (Vec3::new(-8.0, 0.0, -6.0), Vec3::new(8.0, 0.0, 6.0));
    let stage = (Vec3::new(-1.0, -0.2, -1.0), Vec3::new(1.0, 0.3, 1.0));
    let plinth = (Vec3::new(1.0, 0.0, -0.5), Vec3::new(2.0, 0.9, 0.5));
    let table = (Vec3::new(-1.0, 0.7, -1.0), Vec3::new(1.0, 0.75, 1.0));
    let cellar = (Vec3::new(-8.0, -3.0, -6.0), Vec3::new(8.0, -2.9, 6.0));
    let on =
        |needs: &her::Needs, pieces: &[(Vec3, Vec3)]| needs.standing_on(pieces.iter().copied());
    assert_eq!(on(&needs, &[floor, plinth, table, cellar]), Some(0.0));
    assert_eq!(on(&needs, &[floor, stage, plinth]), Some(0.3));
    assert_eq!(on(&needs, &[plinth, table, cellar]), None);
    // Her bounds reach 15 cm below the floor: the floor before her feet seemed to hide
    // them, and was drawn lit; standing on it, it is under her feet.
    let before_her = (Vec3::new(-0.5, 0.0, 0.5), Vec3::new(0.0, 0.0, 1.0));
    needs.ground = -0.1;
    assert!(needs.piece(before_her));
    needs.ground = needs.ground.max(on(&needs, &[floor]).unwrap() + 1e-3);
    assert!(!needs.piece(before_her));
}
