//! Large set pieces cut into tiles for the host camera.
//!
//! The host camera draws a set piece as itself where her shadow may fall on it, and a floor
//! runs under all of her rectangle: drawn whole, it was lit across the rectangle where her
//! shadow falls on a part (on two cores, not drawing the floor at all was worth up to 9 ms
//! of a held 720p frame). So a large piece the host camera draws as itself gets tiles: its
//! triangles cut along a grid of cells in its own space, on the layer only the host camera
//! sees, with the piece's material and casting no shadow (the piece casts its own). From
//! then on the host camera draws the tiles in the piece's stead, each as itself, as its
//! holdout or not at all, like any piece ([`super::her`]); the on-air camera and the
//! lights see the piece whole.
//!
//! The tiles are the piece's own triangles, split where the grid crosses them, with every
//! attribute interpolated: on screen a tile is the piece's pixels, and the tiles on both
//! sides of a cut share its vertices exactly.

use super::catcher::{CatcherMaterial, Fills, catcher};
use super::holdout::{LAYER, Twinned};
use crate::scene::LeanLighting;
use bevy::asset::RenderAssetUsages;
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::RenderLayers;
use bevy::light::NotShadowCaster;
use bevy::mesh::{MeshVertexAttribute, PrimitiveTopology, VertexAttributeValues};
use bevy::prelude::*;
use std::collections::BTreeMap;

/// A piece the host camera draws as its tiles.
#[derive(Component)]
pub(super) struct Tiled;

/// One tile of a piece, its child.
#[derive(Component)]
pub(super) struct Tile;

/// A piece that stays whole: small, or with a mesh that cannot be cut.
#[derive(Component)]
pub(super) struct Whole;

/// What the host camera draws for her this frame: the large pieces among them, drawn as
/// themselves, are cut.
#[derive(Resource, Default)]
pub(super) struct ToCut(pub(super) Vec<Entity>);

/// The least side of a tile in the world, in metres: about the size of her shadow's
/// smaller parts.
const CELL: f32 = 0.5;
/// The most cells along one of a piece's axes at a time. A tile the host camera draws as
/// itself is cut again, so tiles are small only where she needs them.
const MOST_CELLS: u32 = 4;
/// The most triangles a mesh may have to be cut (more is a prop, not a floor or a wall).
const MOST_TRIANGLES: usize = 20_000;

/// Adds the systems that cut pieces into tiles and cut them again when they change.
pub(super) fn add(app: &mut App) {
    app.init_resource::<ToCut>().add_systems(
        PostUpdate,
        (
            cut_large_pieces,
            // Its despawns land first: a tile dropped is not twinned in the same frame
            // (the twin's commands would find it gone).
            drop_tiles_of_changed_pieces.before(super::holdout::Twinning),
        ),
    );
}

/// Cuts the large pieces among those the host camera drew as themselves into tiles, each
/// with its catcher ([`super::catcher`]) under lean lighting, whose shadow lookup catchers
/// share.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub(super) fn cut_large_pieces(
    mut commands: Commands,
    mut to_cut: ResMut<ToCut>,
    mut meshes: ResMut<Assets<Mesh>>,
    lean: Option<Res<LeanLighting>>,
    standard: Res<Assets<StandardMaterial>>,
    mut catchers: ResMut<Assets<CatcherMaterial>>,
    pieces: Query<
        (
            &Mesh3d,
            &MeshMaterial3d<StandardMaterial>,
            &GlobalTransform,
            &Aabb,
        ),
        (With<Twinned>, Without<Tiled>, Without<Whole>),
    >,
) {
    for piece in std::mem::take(&mut to_cut.0) {
        let Ok((mesh, material, transform, aabb)) = pieces.get(piece) else {
            continue;
        };
        let cells = cells(aabb, transform);
        if cells == UVec3::ONE {
            commands.entity(piece).insert(Whole);
            continue;
        }
        let Some(mesh) = meshes.get(&mesh.0) else {
            continue; // Not loaded yet.
        };
        let bounds = (Vec3::from(aabb.min()), Vec3::from(aabb.max()));
        let Some(tiles) = cut(mesh, bounds, cells).filter(|tiles| tiles.len() > 1) else {
            commands.entity(piece).insert(Whole);
            continue;
        };
        debug!(
            ?piece,
            tiles = tiles.len(),
            ?cells,
            "cut into tiles for the host camera"
        );
        let caught = (lean.as_ref().and(standard.get(&material.0)))
            .and_then(CatcherMaterial::of)
            .map(|m| catchers.add(m));
        for tile in tiles {
            let fills = Fills::of(&tile);
            let mesh = meshes.add(tile);
            let tile = commands.spawn((
                Name::new("tile"),
                Tile,
                Mesh3d(mesh.clone()),
                MeshMaterial3d(material.0.clone()),
                RenderLayers::layer(LAYER),
                NotShadowCaster,
                ChildOf(piece),
            ));
            if let Some(caught) = &caught {
                let tile = tile.id();
                let mut catcher = commands.spawn(catcher(tile, mesh, caught.clone()));
                if let Some(fills) = fills {
                    catcher.insert(fills);
                }
            }
        }
        commands.entity(piece).insert(Tiled);
    }
}

/// A piece given another mesh or material loses its tiles, and is cut again when the
/// host camera next draws it.
#[allow(clippy::type_complexity)]
fn drop_tiles_of_changed_pieces(
    mut commands: Commands,
    pieces: Query<
        (Entity, Option<&Children>),
        (
            Or<(With<Tiled>, With<Whole>)>,
            Or<(Changed<Mesh3d>, Changed<MeshMaterial3d<StandardMaterial>>)>,
        ),
    >,
    tiles: Query<(), With<Tile>>,
) {
    for (piece, children) in &pieces {
        for child in children.into_iter().flatten().copied() {
            if !tiles.contains(child) {
                continue;
            }
            commands.entity(child).despawn();
        }
        commands.entity(piece).remove::<(Tiled, Whole)>();
    }
}

/// How many cells a piece with bounds `aabb` is cut into along each of its own axes:
/// at least a [`CELL`] each in the world, at most [`MOST_CELLS`]; all ones when it stays
/// whole.
fn cells(aabb: &Aabb, transform: &GlobalTransform) -> UVec3 {
    let size = Vec3::from(aabb.half_extents) * 2.0 * transform.scale().abs();
    let cells = (size / CELL).floor();
    match cells.is_finite() {
        true => cells.as_uvec3().clamp(UVec3::ONE, UVec3::splat(MOST_CELLS)),
        false => UVec3::ONE,
    }
}

/// A vertex being cut: its position, then every other attribute's floats.
type Vertex = Vec<f32>;

/// The triangles of `mesh` cut along a grid of `cells` equal cells of the box `bounds`
/// (in the mesh's space), one mesh for each cell that has any. `None` when the mesh cannot
/// be cut: not a list of triangles, with morph targets, an attribute that is not floats,
/// more than [`MOST_TRIANGLES`], an index out of range.
pub(super) fn cut(mesh: &Mesh, bounds: (Vec3, Vec3), cells: UVec3) -> Option<Vec<Mesh>> {
    let plain = mesh.primitive_topology() == PrimitiveTopology::TriangleList
        && matches!(mesh.try_has_morph_targets(), Ok(false));
    if !plain {
        return None;
    }
    let (layout, vertices) = flatten(mesh)?;
    let indices: Vec<usize> = match mesh.try_indices_option().ok()? {
        Some(indices) => indices.iter().collect(),
        None => (0..vertices.len()).collect(),
    };
    if indices.len() / 3 > MOST_TRIANGLES || indices.iter().any(|i| *i >= vertices.len()) {
        return None;
    }
    let grid = Grid {
        lo: bounds.0,
        step: (bounds.1 - bounds.0) / cells.as_vec3(),
        cells,
    };
    let mut per_cell = BTreeMap::new();
    for triangle in indices.chunks_exact(3) {
        let polygon = triangle.iter().map(|i| vertices[*i].clone()).collect();
        grid.cut_along(polygon, 0, [0; 3], &mut per_cell);
    }
    Some(per_cell.values().map(|t| mesh_of(&layout, t)).collect())
}

/// The cells of a piece's box.
struct Grid {
    lo: Vec3,
    step: Vec3,
    cells: UVec3,
}

impl Grid {
    /// Cuts the convex `polygon` (in `cell`, so far as the axes before `axis` go) at this
    /// axis's cell planes, and on along the next axes; the triangles of each whole cut go
    /// to their cell in `out`. What lies outside the box stays in the cells at its edges.
    fn cut_along(
        &self,
        polygon: Vec<Vertex>,
        axis: usize,
        mut cell: [u32; 3],
        out: &mut BTreeMap<[u32; 3], Vec<Vertex>>,
    ) {
        if axis == 3 {
            let triangles = out.entry(cell).or_default();
            for i in 1..polygon.len() - 1 {
                triangles.extend([&polygon[0], &polygon[i], &polygon[i + 1]].map(Clone::clone));
            }
            return;
        }
        let along = polygon.iter().map(|v| v[axis]);
        let (low, high) = along.fold((f32::MAX, f32::MIN), |(l, h), x| (l.min(x), h.max(x)));
        let last = self.cells[axis] - 1;
        for i in self.index(low, axis)..=self.index(high, axis) {
            let mut piece = polygon.clone();
            if i > 0 {
                piece = clip(&piece, axis, self.plane(i, axis), true);
            }
            if i < last {
                piece = clip(&piece, axis, self.plane(i + 1, axis), false);
            }
            if piece.len() >= 3 {
                cell[axis] = i;
                self.cut_along(piece, axis + 1, cell, out);
            }
        }
    }

    /// The cell along `axis` that the coordinate `at` falls in (the edge ones outside).
    fn index(&self, at: f32, axis: usize) -> u32 {
        let last = self.cells[axis] - 1;
        if last == 0 {
            return 0;
        }
        let i = ((at - self.lo[axis]) / self.step[axis]).floor();
        if i.is_nan() {
            0
        } else {
            i.clamp(0.0, last as f32) as u32
        }
    }

    /// Where the plane between cells `i - 1` and `i` crosses `axis`.
    fn plane(&self, i: u32, axis: usize) -> f32 {
        self.lo[axis] + self.step[axis] * i as f32
    }
}

/// The part of the convex `polygon` on one side of the plane where `axis` is `at`: above
/// it (`true`) or below.
fn clip(polygon: &[Vertex], axis: usize, at: f32, above: bool) -> Vec<Vertex> {
    let inside = |v: &Vertex| match above {
        true => v[axis] >= at,
        false => v[axis] <= at,
    };
    let mut kept = Vec::with_capacity(polygon.len() + 1);
    for (i, a) in polygon.iter().enumerate() {
        let b = &polygon[(i + 1) % polygon.len()];
        if inside(a) {
            kept.push(a.clone());
        }
        if inside(a) != inside(b) {
            kept.push(crossing(a, b, axis, at));
        }
    }
    kept
}

/// Where the edge from `a` to `b` crosses the plane where `axis` is `at`, with every
/// attribute in between. Worked out from the edge's lower end whichever way it is walked,
/// so the tiles on both sides of the plane get the same vertex.
fn crossing(a: &Vertex, b: &Vertex, axis: usize, at: f32) -> Vertex {
    let (a, b) = if a[axis] <= b[axis] { (a, b) } else { (b, a) };
    let t = (at - a[axis]) / (b[axis] - a[axis]);
    let mut v: Vertex = a.iter().zip(b).map(|(x, y)| x + (y - x) * t).collect();
    v[axis] = at;
    v
}

/// The mesh's attributes, position first, with how many floats each has, and its
/// vertices as floats; `None` when an attribute is not floats or has the wrong count.
fn flatten(mesh: &Mesh) -> Option<(Vec<(MeshVertexAttribute, usize)>, Vec<Vertex>)> {
    let mut attributes: Vec<_> = mesh.try_attributes().ok()?.collect();
    attributes.sort_by_key(|(a, _)| a.id != Mesh::ATTRIBUTE_POSITION.id);
    if attributes.first()?.0.id != Mesh::ATTRIBUTE_POSITION.id {
        return None;
    }
    let count = mesh.count_vertices();
    let mut vertices = vec![Vertex::new(); count];
    let mut layout = Vec::new();
    for (attribute, values) in attributes {
        let (width, floats): (usize, Vec<f32>) = match values {
            VertexAttributeValues::Float32(v) => (1, v.clone()),
            VertexAttributeValues::Float32x2(v) => (2, v.as_flattened().to_vec()),
            VertexAttributeValues::Float32x3(v) => (3, v.as_flattened().to_vec()),
            VertexAttributeValues::Float32x4(v) => (4, v.as_flattened().to_vec()),
            _ => return None,
        };
        if floats.len() != count * width {
            return None;
        }
        for (vertex, value) in vertices.iter_mut().zip(floats.chunks_exact(width)) {
            vertex.extend_from_slice(value);
        }
        layout.push((*attribute, width));
    }
    Some((layout, vertices))
}

/// A list of triangles from `vertices`, laid out as `layout` says.
fn mesh_of(layout: &[(MeshVertexAttribute, usize)], vertices: &[Vertex]) -> Mesh {
    let mut mesh = Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    );
    let mut at = 0;
    for (attribute, width) in layout {
        let values = match width {
            1 => VertexAttributeValues::Float32(vertices.iter().map(|v| v[at]).collect()),
            2 => VertexAttributeValues::Float32x2(
                vertices.iter().map(|v| [v[at], v[at + 1]]).collect(),
            ),
            3 => VertexAttributeValues::Float32x3(
                vertices
                    .iter()
                    .map(|v| [v[at], v[at + 1], v[at + 2]])
                    .collect(),
            ),
            _ => VertexAttributeValues::Float32x4(
                (vertices.iter())
                    .map(|v| [v[at], v[at + 1], v[at + 2], v[at + 3]])
                    .collect(),
            ),
        };
        mesh.insert_attribute(*attribute, values);
        at += width;
    }
    mesh
}
