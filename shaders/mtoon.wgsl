// twincast: MToon, the toon shading of VRM avatars (presenter::toon), as an extension of
// Bevy's standard material: the surface (base colour and texture, normal map, alpha,
// emission) is the standard material's, its lighting is MToon's.
//
// Each light shades between the material's lit colour and its shade colour along a ramp
// of N·L, its boundary moved by `shift` (and the shading shift texture's red times
// `shift_scale`) and sharpened by `toony`; its shadow pushes toward
// the shade colour (not to black). Ambient light falls on the lit colour. A rim colour is
// added at the silhouette, and a matcap, both multiplied by the rim texture; vertex
// colours are ignored. Its textures follow the base colour texture's transform
// (tiling, offset), and their UVs may move over time (UV animation: scrolled and turned
// about the centre on Bevy's clock, the media clock when rendering a show, as far as the
// mask texture's blue says; the matcap, read by the surface's facing, does neither).
// After VRMC_materials_mtoon 1.0; drawn elsewhere: outlines (mtoon_outline.wgsl).

#import bevy_pbr::{
    pbr_fragment::pbr_input_from_standard_material,
    pbr_functions::{alpha_discard, main_pass_post_lighting_processing},
    pbr_types::PbrInput,
    mesh_view_bindings as view_bindings,
    mesh_types::MESH_FLAGS_SHADOW_RECEIVER_BIT,
}
#import twincast::mtoon_light as light

// Forward only: the depth prepass and shadow maps draw the standard material's.
#import bevy_pbr::forward_io::{VertexOutput, FragmentOutput}

struct Toon {
    shade: vec4<f32>,
    // rgb: the rim's colour; a: how much the scene's light tints it.
    rim: vec4<f32>,
    // rgb: the matcap's colour; a: 1 when there is a matcap texture.
    matcap: vec4<f32>,
    shift: f32,
    toony: f32,
    rim_power: f32,
    rim_lift: f32,
    shift_scale: f32,
    uv_scroll: vec2<f32>,
    uv_rotation: f32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(100) var<uniform> toon: Toon;
@group(#{MATERIAL_BIND_GROUP}) @binding(101) var shade_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(102) var shade_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(103) var matcap_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(104) var matcap_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(105) var rim_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(106) var rim_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(107) var shift_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(108) var shift_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(109) var uv_mask_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(110) var uv_mask_sampler: sampler;

// `uv` moved by the UV animation at this moment. Whole turns and whole texture widths are
// taken out before multiplying, so hours into a show the step from frame to frame stays
// as fine as in its first minute (Bevy's clock wraps each hour: one small jump then).
fn animated_uv(uv: vec2<f32>) -> vec2<f32> {
    if all(toon.uv_scroll == vec2<f32>(0.0)) && toon.uv_rotation == 0.0 {
        return uv;
    }
    let time = view_bindings::globals.time * textureSample(uv_mask_texture, uv_mask_sampler, uv).b;
    let moved = uv + fract(toon.uv_scroll * time);
    let angle = fract(toon.uv_rotation / (2.0 * light::PI) * time) * 2.0 * light::PI;
    let turn = mat2x2<f32>(cos(angle), sin(angle), -sin(angle), cos(angle));
    return turn * (moved - 0.5) + 0.5;
}

// How lit (1) or shaded (0) a surface whose boundary is moved by `shift` is by a light at
// `n_dot_l`, in its `shadow` (0–1).
fn ramp(n_dot_l: f32, shift: f32, shadow: f32) -> f32 {
    let low = -1.0 + toon.toony;
    let high = 1.0 - toon.toony;
    let lit = saturate((n_dot_l + shift - low) / max(high - low, 1e-4));
    return lit * shadow;
}

// The light a surface at `in` gets from every light, shaded toon-wise: `.rgb` the colour
// it reflects, and in `received` the light that arrived (for the rim's tint).
fn toon_direct(in: PbrInput, lit: vec3<f32>, shade: vec3<f32>, shift: f32,
        received: ptr<function, vec3<f32>>) -> vec3<f32> {
    let P = in.world_position;
    let receives = (in.flags & MESH_FLAGS_SHADOW_RECEIVER_BIT) != 0u;
    let z = light::view_z(P);
    var colour = vec3<f32>(0.0);
    // The loops test their end at the bottom: a CPU renderer runs a loop's body once more,
    // masked, for a test at the top to find every pixel done (`lean_lighting.wgsl`).
    let ranges = light::cluster_lights(in.frag_coord.xy, z, in.is_orthographic);
    let end = ranges.first_reflection_probe_index_offset;
    var i = ranges.first_point_light_index_offset;
    loop {
        if (i < end) {
            let a = light::clustered(i, ranges, P, in.world_normal, in.frag_coord.xy, receives);
            colour += mix(shade, lit, ramp(dot(in.N, a.L), shift, a.shadow)) * a.light;
            *received += a.light;
        }
        i = i + 1u;
        if (i >= end) {
            break;
        }
    }
    let directional_lights = view_bindings::lights.n_directional_lights;
    i = 0u;
    loop {
        if (i < directional_lights) {
            let a = light::directional(i, P, in.world_normal, z, in.frag_coord.xy, receives);
            colour += mix(shade, lit, ramp(dot(in.N, a.L), shift, a.shadow)) * a.light;
            *received += a.light;
        }
        i = i + 1u;
        if (i >= directional_lights) {
            break;
        }
    }
    return colour;
}

// The matcap's colour where the surface faces the way it does from the camera: the
// picture's right for a surface turned to the camera's right, its top for one facing up
// (a matcap is drawn with up at the top, as in Unity, where MToon comes from). Seen from
// straight above or below, where "level across" has no direction, the camera's own right.
fn matcap(in: PbrInput) -> vec3<f32> {
    var across = vec3<f32>(in.V.z, 0.0, -in.V.x);
    if dot(across, across) < 1e-8 {
        across = view_bindings::view.world_from_view[0].xyz;
    }
    across = normalize(across);
    let up = cross(in.V, across);
    let at = vec2<f32>(dot(across, in.N), dot(up, in.N)) * 0.495 + 0.5;
    let picture = textureSample(matcap_texture, matcap_sampler, vec2<f32>(at.x, 1.0 - at.y)).rgb;
    return toon.matcap.rgb * picture * toon.matcap.a;
}

fn toon_lighting(in: PbrInput, uv: vec2<f32>) -> vec4<f32> {
    let lit = in.material.base_color.rgb;
    let shade = toon.shade.rgb * textureSample(shade_texture, shade_sampler, uv).rgb;
    var shift = toon.shift;
    if toon.shift_scale != 0.0 {
        shift += textureSample(shift_texture, shift_sampler, uv).r * toon.shift_scale;
    }
    var received = vec3<f32>(0.0);
    let direct = toon_direct(in, lit, shade, shift, &received);
    // The showroom's ambient light is the same from every side (so MToon's equalization
    // of it has nothing to even out): it falls on the lit colour.
    let ambient = view_bindings::lights.ambient_color.rgb * lit;
    let exposure = view_bindings::view.exposure;

    let rim_shape = pow(saturate(1.0 - dot(in.N, in.V) + toon.rim_lift), max(toon.rim_power, 1e-5));
    let tint = mix(vec3<f32>(1.0), exposure * (received + view_bindings::lights.ambient_color.rgb), toon.rim.a);
    let rim = (matcap(in) + toon.rim.rgb * rim_shape)
        * textureSample(rim_texture, rim_sampler, uv).rgb * tint;

    let emissive = in.material.emissive;
    let emitted = emissive.rgb * in.material.base_color.a * mix(1.0, exposure, emissive.a);
    return vec4<f32>(exposure * (direct + ambient) + emitted + rim, in.material.base_color.a);
}

@fragment
fn fragment(vertex_output: VertexOutput, @builtin(front_facing) is_front: bool) -> FragmentOutput {
    var in = vertex_output;
#ifdef VERTEX_COLORS
    // MToon ignores vertex colours.
    in.color = vec4<f32>(1.0);
#endif
#ifdef VERTEX_UVS_A
    in.uv = animated_uv(in.uv);
#endif
    var pbr_input = pbr_input_from_standard_material(in, is_front);
#ifdef VERTEX_UVS_A
    // MToon's textures move with the base colour texture's transform (KHR_texture_transform
    // after the UV animation, as 1.0 orders them; 0.x's tiling), as the standard ones do.
    let uv = (pbr_input.material.uv_transform * vec3<f32>(in.uv, 1.0)).xy;
#else
    let uv = vec2<f32>(0.0);
#endif
    pbr_input.material.base_color = alpha_discard(pbr_input.material, pbr_input.material.base_color);
    var out: FragmentOutput;
    out.color = toon_lighting(pbr_input, uv);
    out.color = main_pass_post_lighting_processing(pbr_input, out.color);
    return out;
}
