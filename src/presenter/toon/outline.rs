//! MToon's outlines: each outlined mesh of hers is drawn a second time by a child entity
//! (the same mesh, skin and morph weights), pushed out along its normals by the outline's
//! width and culled to its back faces, in the outline's colour (`shaders/mtoon_outline.wgsl`):
//! the inverted hull MToon's own renderers draw.

use super::look::Outline;
use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::{DynamicSkinnedMeshBounds, NoFrustumCulling};
use bevy::light::{NotShadowCaster, NotShadowReceiver};
use bevy::math::Affine2;
use bevy::mesh::MeshVertexBufferLayoutRef;
use bevy::mesh::morph::MeshMorphWeights;
use bevy::mesh::skinning::SkinnedMesh;
use bevy::pbr::{Material, MaterialPipeline, MaterialPipelineKey, MaterialPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, Face, RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError,
};
use bevy::shader::{Shader, ShaderRef};

const OUTLINE_SHADER: Handle<Shader> = uuid_handle!("0f4b8e27-5c1d-4a96-8e3b-92d6c7a1e5f4");

/// An outline's colour and width, for the hull that draws it.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct OutlineMaterial {
    #[uniform(0)]
    params: OutlineParams,
    /// Multiplies the width (read in the vertex shader); none: white, the width as it is.
    #[texture(1)]
    #[sampler(2)]
    width_texture: Option<Handle<Image>>,
}

/// As the shader reads it (`Outline` in `mtoon_outline.wgsl`).
#[derive(ShaderType, Debug, Clone)]
struct OutlineParams {
    /// The colour, and (`w`) how much the scene's light tints it.
    colour: Vec4,
    width: f32,
    /// 1: `width` is a share of the picture's height; 0: metres.
    screen: u32,
    /// Which channel of the width texture counts (1 in its place, 0 elsewhere).
    width_channel: Vec4,
    /// The material's texture transform, which the width texture follows as MToon's do.
    uv_transform: Mat3,
}

impl Material for OutlineMaterial {
    fn vertex_shader() -> ShaderRef {
        ShaderRef::Handle(OUTLINE_SHADER)
    }

    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(OUTLINE_SHADER)
    }

    /// The hull is no surface: it neither fills the depth prepass nor casts a shadow.
    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        descriptor.primitive.cull_mode = Some(Face::Front);
        Ok(())
    }
}

impl OutlineMaterial {
    pub(super) fn of(
        outline: &Outline,
        width_texture: Option<Handle<Image>>,
        uv_transform: Affine2,
    ) -> Self {
        let mut width_channel = Vec4::ZERO;
        width_channel[outline.width_channel.min(3)] = 1.0;
        Self {
            params: OutlineParams {
                colour: Vec3::from_array(outline.colour).extend(outline.lighting_mix),
                width: outline.width,
                screen: outline.screen.into(),
                width_channel,
                uv_transform: Mat3::from(uv_transform),
            },
            width_texture,
        }
    }
}

pub(super) fn add(app: &mut App) {
    load_internal_asset!(
        app,
        OUTLINE_SHADER,
        "../../../shaders/mtoon_outline.wgsl",
        Shader::from_wgsl
    );
    app.add_plugins(MaterialPlugin::<OutlineMaterial>::default());
}

/// Gives `mesh` its outline: a child drawing the same mesh, skinned and morphed as it is
/// (the skin's joints and the morph weights' owner are the same entities), bounded as it
/// is, in `material`.
pub(super) fn outline(commands: &mut Commands, mesh: Entity, material: Handle<OutlineMaterial>) {
    commands
        .entity(mesh)
        .clone_and_spawn_with_opt_in(|builder| {
            builder.allow::<(
                Mesh3d,
                SkinnedMesh,
                MeshMorphWeights,
                Aabb,
                DynamicSkinnedMeshBounds,
                NoFrustumCulling,
            )>();
        })
        .insert((
            Name::new("outline"),
            MeshMaterial3d(material),
            Transform::IDENTITY,
            NotShadowCaster,
            NotShadowReceiver,
            ChildOf(mesh),
        ));
}
