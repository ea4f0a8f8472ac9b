//! Toon materials: avatars from VRoid Studio, UniVRM and the like are drawn in MToon, their
//! toon shader, and they look wrong without it (VRM 0.x files fall back to flat unlit
//! colour, 1.0 files to plastic PBR with black shadows). So the glTF loader notes each
//! material's MToon look as it spawns a mesh ([`ToonDress`], from [`look`]), and when her
//! avatar is on stage her meshes wear [`ToonMaterial`]: Bevy's standard material for the
//! surface, `shaders/mtoon.wgsl` for the light. Props keep the standard material (the held
//! shots' cache of the set reads it).

mod look;
mod outline;

use bevy::math::Affine2;
use look::{ToonLook, toon_looks};
use outline::OutlineMaterial;

use bevy::asset::{LoadContext, load_internal_asset, uuid_handle};
use bevy::ecs::world::EntityWorldMut;
use bevy::gltf::extensions::{
    ErasedGltfExtensionHandler, GltfExtensionHandler, GltfExtensionHandlers,
};
use bevy::gltf::{GltfLoaderSettings, gltf};
use bevy::mesh::MeshVertexBufferLayoutRef;
use bevy::pbr::{
    ExtendedMaterial, MaterialExtension, MaterialExtensionKey, MaterialExtensionPipeline,
    MaterialPlugin,
};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError,
};
use bevy::shader::{Shader, ShaderRef};
use bevy::world_serialization::WorldInstanceReady;
use std::collections::HashMap;

const TOON_SHADER: Handle<Shader> = uuid_handle!("6d0c3b9e-41f7-4a8e-9b52-d7e8a1c4f0b6");
/// The lights as both of MToon's passes see them (`twincast::mtoon_light`).
const LIGHT_SHADER: Handle<Shader> = uuid_handle!("b3e1f6a2-8c4d-4f7e-a9b0-5d2c7e8f1a36");

/// Her material where her file asks for MToon.
pub type ToonMaterial = ExtendedMaterial<StandardMaterial, Toon>;

/// MToon's part of [`ToonMaterial`]: its numbers and its textures.
#[derive(Asset, AsBindGroup, Reflect, Debug, Clone)]
#[bind_group_data(ToonKey)]
pub struct Toon {
    #[uniform(100)]
    params: ToonParams,
    /// Multiplies the shade colour; none: white.
    #[texture(101)]
    #[sampler(102)]
    shade_texture: Option<Handle<Image>>,
    /// Read by which way the surface faces the camera; none: no matcap.
    #[texture(103)]
    #[sampler(104)]
    matcap_texture: Option<Handle<Image>>,
    /// Multiplies the rim (matcap and parametric); none: white.
    #[texture(105)]
    #[sampler(106)]
    rim_texture: Option<Handle<Image>>,
    /// Its red, times `shift_scale`, moves the shading boundary; none: `shift_scale` 0.
    #[texture(107)]
    #[sampler(108)]
    shift_texture: Option<Handle<Image>>,
    /// Its blue says how far the UV animation moves a texel; none: white, all of it.
    #[texture(109)]
    #[sampler(110)]
    uv_mask_texture: Option<Handle<Image>>,
    /// Blended, and still writing depth.
    zwrite: bool,
}

/// What of a toon material its pipeline depends on.
#[repr(C)]
#[derive(Copy, Clone, Hash, Eq, PartialEq)]
pub struct ToonKey {
    zwrite: bool,
}

impl From<&Toon> for ToonKey {
    fn from(toon: &Toon) -> Self {
        Self {
            zwrite: toon.zwrite,
        }
    }
}

/// How far a material's place in MToon's drawing order moves it in Bevy's sorting of
/// transparent things by distance (metres of view depth a step): far past any distance in a
/// showroom, so the order holds as Unity's render queue does, across the scene. Materials
/// at offset 0 that do not write depth sort by distance as before.
const QUEUE_STEP_M: f32 = 1000.0;
/// Blended materials that write depth draw before all plain transparent ones (Unity's queue
/// 2501 before 3000).
const ZWRITE_FIRST_M: f32 = 100.0 * QUEUE_STEP_M;

/// The numbers as the shader reads them (`Toon` in `mtoon.wgsl`).
#[derive(ShaderType, Reflect, Debug, Clone)]
struct ToonParams {
    shade: Vec4,
    /// The rim's colour, and (`w`) how much the scene's light tints it.
    rim: Vec4,
    /// The matcap's colour, and (`w`) 1 when there is a matcap texture.
    matcap: Vec4,
    shift: f32,
    toony: f32,
    rim_power: f32,
    rim_lift: f32,
    shift_scale: f32,
    /// UV units a second; and radians a second about the texture's centre.
    uv_scroll: Vec2,
    uv_rotation: f32,
}

impl MaterialExtension for Toon {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(TOON_SHADER)
    }

    /// A blended material marked so writes depth, so its own nearer layers hide its farther
    /// ones. The sorting bias ([`QUEUE_STEP_M`]) is not a rasterizer depth bias.
    fn specialize(
        _pipeline: &MaterialExtensionPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        key: MaterialExtensionKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        if let Some(depth) = descriptor.depth_stencil.as_mut() {
            depth.bias.constant = 0;
            if key.bind_group_data.zwrite {
                depth.depth_write_enabled = Some(true);
            }
        }
        Ok(())
    }
}

/// The sorting bias for a toon material's place in the drawing order (positive: drawn
/// later, as if nearer).
fn order_bias(look: &ToonLook) -> f32 {
    let first = if look.zwrite { -ZWRITE_FIRST_M } else { 0.0 };
    first + look.queue_offset as f32 * QUEUE_STEP_M
}

impl Toon {
    fn of(dress: &ToonDress) -> Self {
        let l = &dress.look;
        Self {
            params: ToonParams {
                shade: Vec3::from_array(l.shade).extend(1.0),
                rim: Vec3::from_array(l.rim).extend(l.rim_mix),
                matcap: Vec3::from_array(l.matcap).extend(match dress.matcap_texture {
                    Some(_) => 1.0,
                    None => 0.0,
                }),
                shift: l.shift,
                toony: l.toony,
                rim_power: l.rim_power,
                rim_lift: l.rim_lift,
                shift_scale: match dress.shift_texture {
                    Some(_) => l.shift_scale,
                    None => 0.0,
                },
                uv_scroll: Vec2::from_array(l.uv_animation.scroll),
                uv_rotation: l.uv_animation.rotation,
            },
            shade_texture: dress.shade_texture.clone(),
            matcap_texture: dress.matcap_texture.clone(),
            rim_texture: dress.rim_texture.clone(),
            shift_texture: dress.shift_texture.clone(),
            uv_mask_texture: dress.uv_mask_texture.clone(),
            zwrite: l.zwrite,
        }
    }
}

/// On a mesh of a glTF file whose material is MToon: its look, and the textures it names
/// (loaded with the file). Put there by the glTF loader ([`ToonLoader`]).
#[derive(Component, Reflect, Clone, Debug)]
#[reflect(Component)]
pub struct ToonDress {
    look: ToonLook,
    shade_texture: Option<Handle<Image>>,
    matcap_texture: Option<Handle<Image>>,
    rim_texture: Option<Handle<Image>>,
    shift_texture: Option<Handle<Image>>,
    outline_width_texture: Option<Handle<Image>>,
    uv_mask_texture: Option<Handle<Image>>,
}

/// Adds the toon material, its shader, and the loader's hook.
pub(super) fn add(app: &mut App) {
    load_internal_asset!(
        app,
        LIGHT_SHADER,
        "../../shaders/mtoon_light.wgsl",
        Shader::from_wgsl
    );
    load_internal_asset!(
        app,
        TOON_SHADER,
        "../../shaders/mtoon.wgsl",
        Shader::from_wgsl
    );
    outline::add(app);
    app.add_plugins(MaterialPlugin::<ToonMaterial>::default())
        .register_type::<ToonDress>()
        .init_resource::<GltfExtensionHandlers>();
    app.world()
        .resource::<GltfExtensionHandlers>()
        .0
        .write_blocking()
        .push(Box::new(ToonLoader::default()));
}

/// The glTF loader's hook: reads the file's toon looks at its root, keeps its textures'
/// handles, and dresses each mesh whose material has a look.
#[derive(Default, Clone)]
struct ToonLoader {
    looks: Vec<Option<ToonLook>>,
    textures: HashMap<usize, Handle<Image>>,
}

impl GltfExtensionHandler for ToonLoader {
    fn dyn_clone(&self) -> Box<dyn ErasedGltfExtensionHandler> {
        Box::new(self.clone())
    }

    fn on_root(
        &mut self,
        load_context: &mut LoadContext<'_>,
        gltf: &gltf::Gltf,
        _settings: &GltfLoaderSettings,
    ) {
        self.looks.clear();
        // Most files (props) have no MToon: their JSON is not gone through again. Read
        // where the looks are, not from `extensionsUsed`, which some exporters leave out.
        let root = gltf.document.as_json();
        let v0 = (root.extensions.as_ref()).is_some_and(|e| e.others.contains_key("VRM"));
        let v1 = (gltf.document.materials())
            .any(|m| m.extension_value("VRMC_materials_mtoon").is_some());
        if !(v0 || v1) {
            return;
        }
        let doc = match serde_json::to_value(gltf.document.as_json()) {
            Ok(doc) => doc,
            Err(e) => {
                warn!("{}: its materials not read: {e}", load_context.path());
                return;
            }
        };
        let name = |i: usize| doc["materials"][i]["name"].as_str().map(str::to_string);
        self.looks = toon_looks(&doc)
            .into_iter()
            .enumerate()
            .map(|(i, read)| {
                let read = read?;
                for refused in &read.refused {
                    let material = name(i).unwrap_or_else(|| i.to_string());
                    warn!("{}: material `{material}`: {refused}", load_context.path());
                }
                Some(read.look)
            })
            .collect();
    }

    fn on_texture(&mut self, gltf_texture: &gltf::Texture, texture: Handle<Image>) {
        self.textures.insert(gltf_texture.index(), texture);
    }

    fn on_spawn_mesh_and_material(
        &mut self,
        _load_context: &mut LoadContext<'_>,
        _primitive: &gltf::Primitive,
        _mesh: &gltf::Mesh,
        material: &gltf::Material,
        entity: &mut EntityWorldMut,
        _material_label: &str,
    ) {
        let Some(look) = material.index().and_then(|i| self.looks.get(i)?.clone()) else {
            return;
        };
        let texture = |index: Option<usize>| self.textures.get(&index?).cloned();
        entity.insert(ToonDress {
            shade_texture: texture(look.shade_texture),
            matcap_texture: texture(look.matcap_texture),
            rim_texture: texture(look.rim_texture),
            shift_texture: texture(look.shift_texture),
            outline_width_texture: texture(look.outline.as_ref().and_then(|o| o.width_texture)),
            uv_mask_texture: texture(look.uv_animation.mask_texture),
            look,
        });
    }
}

/// When her avatar is on stage, each of her meshes dressed in a toon look wears the toon
/// material instead of the standard one, and its outline if the look has one: one toon
/// material (and outline) per standard material (meshes that shared one share the
/// other), made anew each time she is put on stage.
pub(super) fn dress_her_in_toon(
    ready: On<WorldInstanceReady>,
    mut commands: Commands,
    children: Query<&Children>,
    dressed: Query<(&ToonDress, &MeshMaterial3d<StandardMaterial>)>,
    standard: Res<Assets<StandardMaterial>>,
    mut toon: ResMut<Assets<ToonMaterial>>,
    mut outlines: ResMut<Assets<OutlineMaterial>>,
) {
    type Made = (Handle<ToonMaterial>, Option<Handle<OutlineMaterial>>);
    let mut made: HashMap<AssetId<StandardMaterial>, Made> = HashMap::new();
    for mesh in children.iter_descendants(ready.entity) {
        let Ok((dress, material)) = dressed.get(mesh) else {
            continue;
        };
        let Some(base) = standard.get(&material.0) else {
            continue;
        };
        let (handle, line) = made
            .entry(material.id())
            .or_insert_with(|| {
                // 0.x's tiling, or 1.0's base colour texture transform (Bevy's glTF loader
                // reads it); the toon shader moves MToon's own textures with it.
                let uv_transform = (dress.look.uv_transform)
                    .map(|t| {
                        Affine2::from_scale_angle_translation(t.scale.into(), 0.0, t.offset.into())
                    })
                    .unwrap_or(base.uv_transform);
                let toon = toon.add(ExtendedMaterial {
                    // A 0.x file marks its MToon materials unlit for viewers without MToon.
                    base: StandardMaterial {
                        unlit: false,
                        depth_bias: base.depth_bias + order_bias(&dress.look),
                        uv_transform,
                        ..base.clone()
                    },
                    extension: Toon::of(dress),
                });
                let line = (dress.look.outline.as_ref()).map(|l| {
                    let width = dress.outline_width_texture.clone();
                    outlines.add(OutlineMaterial::of(l, width, uv_transform))
                });
                (toon, line)
            })
            .clone();
        commands
            .entity(mesh)
            .remove::<MeshMaterial3d<StandardMaterial>>()
            .insert(MeshMaterial3d(handle));
        if let Some(line) = line {
            outline::outline(&mut commands, mesh, line);
        }
    }
    if !made.is_empty() {
        let outlined = made.values().filter(|(_, line)| line.is_some()).count();
        info!(
            "presenter: {} toon (MToon) materials, {outlined} with outlines",
            made.len()
        );
    }
}
