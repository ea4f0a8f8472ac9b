// twincast: MToon's outline (presenter::toon::outline), an inverted hull: the mesh,
// skinned and morphed as Bevy's own vertex shader does it, pushed out along its normals
// (metres, or a share of the picture's height; times the width texture's channel where
// the mesh has UVs) and drawn back faces only, in one colour.
// The colour is tinted by the light arriving there (ambient, directional, point and spot
// lights, unshadowed) as far as `colour.a` says (MToon mixes in the surface's shading).

#import bevy_pbr::{
    mesh_bindings::mesh,
    mesh_functions,
    skinning,
    morph::{morph_position, morph_normal},
    forward_io::{Vertex, VertexOutput},
    view_transformations::position_world_to_clip,
    mesh_view_bindings as view_bindings,
}
#import twincast::mtoon_light as light

struct Outline {
    colour: vec4<f32>,
    width: f32,
    screen: u32,
    // 1 for the channel of the width texture that counts, 0 for the others.
    width_channel: vec4<f32>,
    // The material's texture transform (KHR_texture_transform, 0.x's tiling).
    uv_transform: mat3x3<f32>,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> outline: Outline;
@group(#{MATERIAL_BIND_GROUP}) @binding(1) var width_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(2) var width_sampler: sampler;

#ifdef MORPH_TARGETS
fn morphed(vertex_in: Vertex) -> Vertex {
    var vertex = vertex_in;
    let instance = vertex_in.instance_index;
    let index = vertex.index - mesh[instance].first_vertex_index;
    for (var i: u32 = 0u; i < bevy_pbr::morph::layer_count(instance); i++) {
        let weight = bevy_pbr::morph::weight_at(i, instance);
        if weight == 0.0 {
            continue;
        }
        vertex.position += weight * morph_position(index, i, instance);
#ifdef VERTEX_NORMALS
        vertex.normal += weight * morph_normal(index, i, instance);
#endif
    }
    return vertex;
}
#endif

@vertex
fn vertex(vertex_no_morph: Vertex) -> VertexOutput {
    var out: VertexOutput;
#ifdef MORPH_TARGETS
    let vertex = morphed(vertex_no_morph);
#else
    let vertex = vertex_no_morph;
#endif
    let instance = vertex_no_morph.instance_index;
#ifdef SKINNED
    let world_from_local = skinning::skin_model(vertex.joint_indices, vertex.joint_weights, instance);
#else
    let world_from_local = mesh_functions::get_world_from_local(instance);
#endif
    var normal = vec3<f32>(0.0);
#ifdef VERTEX_NORMALS
#ifdef SKINNED
    normal = skinning::skin_normals(world_from_local, vertex.normal);
#else
    normal = mesh_functions::mesh_normal_local_to_world(vertex.normal, instance);
#endif
    normal = normalize(normal);
#endif
    var width = outline.width;
#ifdef VERTEX_UVS_A
    let uv = (outline.uv_transform * vec3<f32>(vertex.uv, 1.0)).xy;
    width *= dot(textureSampleLevel(width_texture, width_sampler, uv, 0.0), outline.width_channel);
#endif
    var world = mesh_functions::mesh_position_local_to_world(world_from_local, vec4<f32>(vertex.position, 1.0));
    if outline.screen == 0u {
        world = vec4<f32>(world.xyz + normal * width, 1.0);
    }
    var clip = position_world_to_clip(world.xyz);
    if outline.screen != 0u {
        // Out along the normal as the picture shows it, by the same number of pixels
        // across as up: the picture's height is two clip units (times w).
        let size = view_bindings::view.viewport.zw;
        let along = (view_bindings::view.clip_from_world * vec4<f32>(normal, 0.0)).xy * size;
        if dot(along, along) > 0.0 {
            let step = normalize(along) * vec2<f32>(size.y / size.x, 1.0) * 2.0 * width;
            clip = vec4<f32>(clip.xy + step * clip.w, clip.zw);
        }
    }
    out.position = clip;
    out.world_position = world;
    out.world_normal = normal;
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    var arriving = view_bindings::lights.ambient_color.rgb;
    if outline.colour.a > 0.0 {
        let P = in.world_position;
        let z = light::view_z(P);
        let orthographic = view_bindings::view.clip_from_view[3].w == 1.0;
        // The loops test their end at the bottom, as `mtoon.wgsl`'s do.
        let ranges = light::cluster_lights(in.position.xy, z, orthographic);
        let end = ranges.first_reflection_probe_index_offset;
        var i = ranges.first_point_light_index_offset;
        loop {
            if i < end {
                arriving += light::clustered(i, ranges, P, in.world_normal, in.position.xy, false).light;
            }
            i++;
            if i >= end {
                break;
            }
        }
        let directional_lights = view_bindings::lights.n_directional_lights;
        i = 0u;
        loop {
            if i < directional_lights {
                arriving += light::directional(i, P, in.world_normal, z, in.position.xy, false).light;
            }
            i++;
            if i >= directional_lights {
                break;
            }
        }
    }
    let tint = mix(vec3<f32>(1.0), view_bindings::view.exposure * arriving, outline.colour.a);
    return vec4<f32>(outline.colour.rgb * tint, 1.0);
}
