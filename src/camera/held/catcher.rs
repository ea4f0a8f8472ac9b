//! Catchers: her shadow on a set piece, drawn without lighting the piece.
//!
//! Where her shadow may fall on a piece, the host camera drew the piece lit, and on two
//! cores that was most of what a held frame spent on the set: lavapipe shades each pixel
//! with every light, and the backdrop already has those pixels lit, without her. A
//! catcher is a tile's stand-in ([`super::tiles`]) that writes the tile's depth and, for
//! colour, only how much her shadow darkens the backdrop there: black, with that share as
//! its opacity, which the host's layer blends over the backdrop. In the demo's wide shot
//! that made her camera's opaque pass about a tenth shorter on two cores (docs/performance.md,
//! "Catchers").
//!
//! The share is reckoned from the key light's shadow map (the lean lighting's lookup, so
//! a CPU renderer's only) and a cheap model of the tile's light (`shaders/catcher.wgsl`),
//! the light only where the lookup finds a shadow: most of a catcher darkens nothing, and
//! a catcher is drawn only over the part of its tile her shadow may reach ([`super::fit`]).
//! The map holds the set's casters as well as her, and the backdrop has the set's shadows
//! already, so a tile the set's shadow may fall on is drawn lit as before: a catcher
//! stands in only where no set piece, moved along a shadow-casting light, meets the tile
//! ([`SetCasters`]).

use super::boxes::{in_its_shadow, world_box};
use super::holdout::LAYER;
use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::RenderLayers;
use bevy::ecs::system::SystemParam;
use bevy::light::NotShadowCaster;
use bevy::math::Vec3A;
use bevy::mesh::VertexAttributeValues;
use bevy::pbr::{Material, MaterialPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, Face, ShaderType};
use bevy::shader::{Shader, ShaderRef};

/// The catchers' shader, built in (its source lives in `shaders/`).
const CATCHER_SHADER: Handle<Shader> = uuid_handle!("5d1e7a20-3b4c-4f6d-8e9a-0b1c2d3e4f50");

/// A box thinner than this (in metres) is flat: it may cast its shadow one way only.
const FLAT: f32 = 1e-3;

/// What the catcher's model of the light needs of the piece's material.
#[derive(Debug, Clone, ShaderType)]
pub struct CatcherSurface {
    base_color: Vec4,
    reflectance: Vec4,
    perceptual_roughness: f32,
    metallic: f32,
}

/// Depth, and black as opaque as her shadow darkens the piece.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct CatcherMaterial {
    #[uniform(0)]
    surface: CatcherSurface,
}

impl Material for CatcherMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(CATCHER_SHADER)
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }
}

impl CatcherMaterial {
    /// The catcher of a piece with `material`; `None` for a surface whose light the
    /// catcher's model does not take in: unlit, not opaque, glowing, textured (the share
    /// is reckoned after tone mapping, so it depends on the colour at each pixel, which the
    /// catcher does not sample), with a normal map, clear coat, anisotropy or transmission.
    pub(super) fn of(material: &StandardMaterial) -> Option<Self> {
        let plain = !material.unlit
            && material.alpha_mode == AlphaMode::Opaque
            && material.emissive == LinearRgba::BLACK
            && material.base_color_texture.is_none()
            && material.metallic_roughness_texture.is_none()
            && material.occlusion_texture.is_none()
            && material.normal_map_texture.is_none()
            && material.clearcoat == 0.0
            && material.anisotropy_strength == 0.0
            && material.specular_transmission == 0.0
            && material.diffuse_transmission == 0.0;
        plain.then(|| CatcherMaterial {
            surface: CatcherSurface {
                base_color: LinearRgba::from(material.base_color).to_vec4(),
                reflectance: (LinearRgba::from(material.specular_tint).to_vec3()
                    * material.reflectance)
                    .extend(0.0),
                perceptual_roughness: material.perceptual_roughness,
                metallic: material.metallic,
            },
        })
    }
}

/// A catcher whose tile is a level rectangle its triangles fill (in the tile's space):
/// it may be fitted to part of it.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub(super) struct Fills {
    pub(super) lo: Vec3,
    pub(super) hi: Vec3,
    /// The axis the rectangle is flat along.
    pub(super) flat: usize,
}

impl Fills {
    /// The rectangle of a flat `mesh` whose triangles cover its bounds once; `None` for
    /// any other mesh (a rug with a round edge, a floor with a hole, a box).
    pub(super) fn of(mesh: &Mesh) -> Option<Self> {
        let Some(VertexAttributeValues::Float32x3(positions)) =
            mesh.attribute(Mesh::ATTRIBUTE_POSITION)
        else {
            return None;
        };
        let points: Vec<Vec3> = positions.iter().copied().map(Vec3::from).collect();
        let lo = points.iter().copied().reduce(Vec3::min)?;
        let hi = points.iter().copied().reduce(Vec3::max)?;
        let size = hi - lo;
        let flat = (0..3).min_by(|a, b| size[*a].total_cmp(&size[*b]))?;
        let (u, v) = in_plane(flat);
        let area = size[u] * size[v];
        if area.is_nan() || area <= 0.0 || size[flat] > 1e-4 * size.max_element() {
            return None;
        }
        let triangles: Vec<usize> = match mesh.indices() {
            Some(indices) => indices.iter().collect(),
            None => (0..points.len()).collect(),
        };
        let mut covered = 0.0;
        for t in triangles.chunks_exact(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| points.get(i).copied());
            let (a, b, c) = (a?, b?, c?);
            let (ab, ac) = (b - a, c - a);
            covered += (ab[u] * ac[v] - ab[v] * ac[u]).abs() / 2.0;
        }
        ((covered - area).abs() <= 1e-3 * area).then_some(Fills { lo, hi, flat })
    }
}

/// The two axes in a plane flat along `flat`.
pub(super) fn in_plane(flat: usize) -> (usize, usize) {
    ((flat + 1) % 3, (flat + 2) % 3)
}

/// A catcher: which tile it stands in for (its parent).
#[derive(Component)]
pub(super) struct Catcher(pub(super) Entity);

/// A catcher for `tile`, drawing `mesh` (the tile's) with `material`.
pub(super) fn catcher(
    tile: Entity,
    mesh: Handle<Mesh>,
    material: Handle<CatcherMaterial>,
) -> impl Bundle {
    (
        Name::new("catcher"),
        Catcher(tile),
        Mesh3d(mesh),
        MeshMaterial3d(material),
        RenderLayers::layer(LAYER),
        NotShadowCaster,
        ChildOf(tile),
    )
}

/// Adds the catchers' material.
pub(super) fn add(app: &mut App) {
    load_internal_asset!(
        app,
        CATCHER_SHADER,
        "../../../shaders/catcher.wgsl",
        Shader::from_wgsl
    );
    app.add_plugins(MaterialPlugin::<CatcherMaterial>::default());
}

/// A set piece's box, and the piece.
pub(super) type Caster = (Entity, (Vec3, Vec3));

/// The set pieces that may cast a shadow.
#[derive(SystemParam)]
pub(super) struct SetCasters<'w, 's> {
    #[allow(clippy::type_complexity)]
    pieces: Query<
        'w,
        's,
        (
            Entity,
            &'static GlobalTransform,
            &'static Aabb,
            &'static Mesh3d,
            Option<&'static MeshMaterial3d<StandardMaterial>>,
            &'static InheritedVisibility,
        ),
        // The host camera's stand-ins (holdouts, tiles, catchers) cast none.
        Without<NotShadowCaster>,
    >,
    meshes: Res<'w, Assets<Mesh>>,
    materials: Res<'w, Assets<StandardMaterial>>,
}

impl SetCasters<'_, '_> {
    /// The boxes of the visible pieces, other than `hers`, that may cast a shadow from one
    /// of `lights` (the directions they shine in). A flat piece drawn one-sided casts none
    /// from a light that meets its back (Bevy culls back faces in shadow maps too): a
    /// ceiling's box would otherwise shade the whole floor.
    pub(super) fn boxes(
        &self,
        hers: &bevy::ecs::entity::EntityHashSet,
        lights: &[Dir3],
    ) -> Vec<Caster> {
        let pieces = self.pieces.iter();
        let visible = pieces.filter(|(e, .., shown)| shown.get() && !hers.contains(e));
        let casts = visible.filter_map(|(e, transform, aabb, mesh, material, _)| {
            let bounds = world_box(transform, aabb);
            let material = material.and_then(|m| self.materials.get(&m.0));
            let mesh = self.meshes.get(&mesh.0);
            let away = (one_sided(material))
                .then(|| flat_normal(bounds, transform, mesh?))
                .flatten()
                .is_some_and(|n| lights.iter().all(|l| n.dot(l.as_vec3()) > 0.0));
            (!away).then_some((e, bounds))
        });
        casts.collect()
    }
}

/// Whether one of the set's `casters`, other than the tile's `own` piece, may shade the
/// box `tile`: its box, moved along one of `lights` (the ways they shine), meets it.
pub(super) fn set_may_shade(
    casters: &[Caster],
    lights: &[Dir3],
    tile: (Vec3, Vec3),
    own: impl Fn(Entity) -> bool,
) -> bool {
    let shades =
        |bounds| (lights.iter()).any(|toward| in_its_shadow(bounds, tile, (*toward).into()));
    (casters.iter()).any(|(caster, bounds)| !own(*caster) && shades(*bounds))
}

/// Whether a piece with `material` is drawn with its back faces culled.
fn one_sided(material: Option<&StandardMaterial>) -> bool {
    material.is_some_and(|m| m.cull_mode == Some(Face::Back) && !m.double_sided)
}

/// The world normal of a flat piece whose normals all agree; `None` otherwise.
fn flat_normal(bounds: (Vec3, Vec3), transform: &GlobalTransform, mesh: &Mesh) -> Option<Vec3> {
    if (bounds.1 - bounds.0).min_element() > FLAT {
        return None;
    }
    let Some(VertexAttributeValues::Float32x3(normals)) = mesh.attribute(Mesh::ATTRIBUTE_NORMAL)
    else {
        return None;
    };
    let first = Vec3::from(*normals.first()?).normalize_or_zero();
    let agree = normals.iter().all(|n| Vec3::from(*n).dot(first) > 0.999);
    let world = transform.affine().matrix3 * Vec3A::from(first);
    agree.then(|| Vec3::from(world).normalize_or_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_surface_has_a_catcher() {
        let plain = StandardMaterial {
            base_color: Color::srgb(0.5, 0.4, 0.3),
            perceptual_roughness: 0.7,
            ..default()
        };
        assert!(CatcherMaterial::of(&plain).is_some());
        let texture = Handle::<Image>::default();
        let textured = [
            StandardMaterial {
                base_color_texture: Some(texture.clone()),
                ..plain.clone()
            },
            StandardMaterial {
                metallic_roughness_texture: Some(texture.clone()),
                ..plain.clone()
            },
            StandardMaterial {
                occlusion_texture: Some(texture.clone()),
                ..plain.clone()
            },
            StandardMaterial {
                unlit: true,
                ..plain.clone()
            },
        ];
        for material in &textured {
            assert!(CatcherMaterial::of(material).is_none(), "{material:?}");
        }
    }
}
