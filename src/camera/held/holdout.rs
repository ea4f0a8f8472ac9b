//! Holdouts: set pieces the host camera draws as depth only, transparent.
//!
//! Whatever the host camera draws replaces the backdrop in her rectangle, so every piece
//! that may hide something it draws must be drawn too: a plinth behind her hides the floor
//! her shadow is drawn on, and left out, the floor would be drawn over it. Drawn as itself,
//! the plinth costs its lit pixels; most of them are already in the backdrop. So each set
//! piece has a twin on a layer only the host camera sees, with the same mesh and a
//! material that writes depth and a transparent colour (a compositor's holdout). The host
//! camera draws the piece as itself where her shadow may fall on it or it may hide her,
//! and its twin where it only hides what is drawn for her.

use crate::presenter::{HostAvatar, is_hers};
use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::camera::visibility::RenderLayers;
use bevy::light::NotShadowCaster;
use bevy::mesh::skinning::SkinnedMesh;
use bevy::pbr::{Material, MaterialPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::AsBindGroup;
use bevy::shader::{Shader, ShaderRef};

/// The layer of the twins: the host camera sees it, no other camera or light does.
pub(super) const LAYER: usize = 30;

/// The twins' shader, built in (its source lives in `shaders/`).
const HOLDOUT_SHADER: Handle<Shader> = uuid_handle!("3c9e6f12-8a47-4b5d-a1e0-7f2b9d4c6e83");

/// Depth and a transparent colour.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone, Default)]
pub struct HoldoutMaterial {}

impl Material for HoldoutMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(HOLDOUT_SHADER)
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }
}

/// A piece's twin, drawn in its place by the host camera: which piece it stands for.
#[derive(Component)]
pub(super) struct Holdout(pub(super) Entity);

/// A piece with a twin.
#[derive(Component)]
pub(super) struct Twinned(pub(super) Entity);

/// A mesh that gets no twin: the host's, a skinned one, or one with a blended material
/// (held out, what shows through it would lose her shadow). It is drawn as itself.
#[derive(Component)]
struct NoTwin;

#[derive(Resource)]
struct Holdouts(Handle<HoldoutMaterial>);

/// Adds the twins' material and the systems that keep every set piece twinned.
pub(super) fn add(app: &mut App) {
    load_internal_asset!(
        app,
        HOLDOUT_SHADER,
        "../../../shaders/holdout.wgsl",
        Shader::from_wgsl
    );
    app.add_plugins(MaterialPlugin::<HoldoutMaterial>::default());
    let material =
        (app.world_mut().resource_mut::<Assets<HoldoutMaterial>>()).add(HoldoutMaterial {});
    app.insert_resource(Holdouts(material)).add_systems(
        PostUpdate,
        (twin_set_pieces.in_set(Twinning), keep_twins_meshes),
    );
}

/// Where new set pieces get their twins.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Twinning;

/// Gives each new set piece a twin, as its child (so it moves and hides with it).
#[allow(clippy::type_complexity)]
fn twin_set_pieces(
    mut commands: Commands,
    holdouts: Res<Holdouts>,
    materials: Res<Assets<StandardMaterial>>,
    pieces: Query<
        (
            Entity,
            &Mesh3d,
            &MeshMaterial3d<StandardMaterial>,
            Has<SkinnedMesh>,
        ),
        (Without<Twinned>, Without<NoTwin>),
    >,
    hosts: Query<(), With<HostAvatar>>,
    parents: Query<&ChildOf>,
) {
    for (piece, mesh, material, skinned) in &pieces {
        let Some(material) = materials.get(&material.0) else {
            continue; // Not loaded yet: whether it is blended is not known.
        };
        let blended = !matches!(material.alpha_mode, AlphaMode::Opaque | AlphaMode::Mask(_));
        let hers = is_hers(piece, &hosts, &parents);
        if skinned || blended || hers {
            commands.entity(piece).insert(NoTwin);
            continue;
        }
        let twin = commands
            .spawn((
                Name::new("holdout"),
                Holdout(piece),
                Mesh3d(mesh.0.clone()),
                MeshMaterial3d(holdouts.0.clone()),
                RenderLayers::layer(LAYER),
                NotShadowCaster,
                ChildOf(piece),
            ))
            .id();
        commands.entity(piece).insert(Twinned(twin));
    }
}

/// A piece given another mesh passes it to its twin.
fn keep_twins_meshes(
    pieces: Query<(&Mesh3d, &Twinned), Changed<Mesh3d>>,
    mut twins: Query<&mut Mesh3d, (With<Holdout>, Without<Twinned>)>,
) {
    for (mesh, twin) in &pieces {
        if let Ok(mut own) = twins.get_mut(twin.0) {
            own.set_if_neq(mesh.clone());
        }
    }
}
