// twincast: lean lighting for a CPU renderer (scene::lean_lighting), appended to Bevy's
// `bevy_pbr::pbr_functions`, whose own `apply_pbr_lighting` is renamed.
//
// On lavapipe (masked vector code) paths that no pixel takes still cost. Bevy's lighting
// carries many such paths; this one keeps what a showroom is lit by: point, spot and
// directional lights through Bevy's own BRDF functions, the ambient light and emission.
// Left out: shadows of point and spot lights, soft (PCSS) shadows and the blend between
// cascades, transmission, clearcoat and anisotropy layers, environment maps, irradiance
// volumes, lightmaps and contact shadows.
//
// Loops test their end at the bottom. Lavapipe (Mesa's gallivm) runs a shader for eight
// pixels at once and never branches on what differs between them: an `if` runs both ways,
// masked, and `break` only masks pixels off; a loop goes round again while any pixel is
// still in it when its body ends. A loop that tests its end at the top (`for`) so runs its
// whole body once more after the last turn, every pixel masked off: for the key light its
// BRDF and shadow lookup a second time, for nothing. Tested at the bottom, with the body
// guarded for a loop of no turns, the same sums cost a ninth less of a held frame
// (docs/performance.md, "Loops that test their end at the bottom").
fn apply_pbr_lighting(in: pbr_types::PbrInput) -> vec4<f32> {
    let base_color = in.material.base_color;
    let perceptual_roughness = in.material.perceptual_roughness;
    let NdotV = max(dot(in.N, in.V), 0.0001);
    let diffuse_color = calculate_diffuse_color(
        base_color.rgb,
        in.material.metallic,
        in.material.specular_transmission,
        in.material.diffuse_transmission,
    );
    let F0 = calculate_F0(base_color.rgb, in.material.metallic, in.material.reflectance);

    var lighting_input = lean_lighting_input(
        in.world_position.xyz, in.N, in.V, base_color.rgb, diffuse_color, in.material.metallic,
        perceptual_roughness, in.material.reflectance,
    );

    let receives_shadows = (in.flags & MESH_FLAGS_SHADOW_RECEIVER_BIT) != 0u;
    let view_z = dot(vec4<f32>(
        view_bindings::view.view_from_world[0].z,
        view_bindings::view.view_from_world[1].z,
        view_bindings::view.view_from_world[2].z,
        view_bindings::view.view_from_world[3].z
    ), in.world_position);
    var direct_light = lean_clustered_light(in, &lighting_input, view_z);

    let directional_lights = view_bindings::lights.n_directional_lights;
    var i = 0u;
    loop {
        if (i < directional_lights) {
            var shadow = 1.0;
            if (receives_shadows && (view_bindings::lights.directional_lights[i].flags
                    & mesh_view_types::DIRECTIONAL_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u) {
                shadow = lean_directional_shadow(i, in.world_position, in.world_normal, view_z);
            }
            direct_light += lighting::directional_light(i, &lighting_input, true) * shadow;
        }
        i = i + 1u;
        if (i >= directional_lights) {
            break;
        }
    }

    let indirect_light = ambient::ambient_light(
        in.world_position, in.N, in.V, NdotV, diffuse_color, F0, perceptual_roughness,
        in.diffuse_occlusion,
    );
    let emissive = in.material.emissive;
    let emissive_light = emissive.rgb * base_color.a
        * mix(1.0, view_bindings::view.exposure, emissive.a);
    return vec4<f32>(
        view_bindings::view.exposure * (direct_light + indirect_light) + emissive_light,
        base_color.a,
    );
}

// What Bevy's lighting functions take of a surface at `P`, seen along `V`: its base layer
// (no clear coat, no anisotropy). The held shots' catchers build theirs with it too.
fn lean_lighting_input(
    P: vec3<f32>,
    N: vec3<f32>,
    V: vec3<f32>,
    base_color: vec3<f32>,
    diffuse_color: vec3<f32>,
    metallic: f32,
    perceptual_roughness: f32,
    reflectance: vec3<f32>,
) -> lighting::LightingInput {
    let NdotV = max(dot(N, V), 0.0001);
    var input: lighting::LightingInput;
    input.layers[LAYER_BASE].NdotV = NdotV;
    input.layers[LAYER_BASE].N = N;
    input.layers[LAYER_BASE].R = reflect(-V, N);
    input.layers[LAYER_BASE].perceptual_roughness = perceptual_roughness;
    input.layers[LAYER_BASE].roughness = lighting::perceptualRoughnessToRoughness(perceptual_roughness);
    input.P = P;
    input.V = V;
    input.diffuse_color = diffuse_color;
    input.metallic = metallic;
    input.F0_dielectric = calculate_F0_dielectric(reflectance);
    input.F0_metallic = base_color;
    input.F_ab = lighting::F_AB(perceptual_roughness, NdotV);
#ifdef STANDARD_MATERIAL_CLEARCOAT
    input.clearcoat_strength = 0.0;
#endif
#ifdef STANDARD_MATERIAL_ANISOTROPY
    input.anisotropy = 0.0;
    input.Ta = vec3(0.0);
    input.Ba = vec3(0.0);
#endif
    return input;
}

// Point and spot lights of the fragment's cluster, working out only the lights that reach
// the pixel. Bevy's two loops (the cluster's points, then its spots) worked every spot of
// the cluster out in full, and once more for nothing (the header says why), though a
// cluster holds a spot wherever its cone passes near: the host in the demo's close-up is
// dark to all three spots, whose clusters cover her. Here a cheap loop steps over the
// spots whose cone leaves the pixel dark (Bevy adds zero for them), and one loop, tested
// at its bottom, works out the rest: the same sums, in the same order.
fn lean_clustered_light(
    in: pbr_types::PbrInput,
    lighting_input: ptr<function, lighting::LightingInput>,
    view_z: f32,
) -> vec3<f32> {
    let cluster_index = clustering::view_fragment_cluster_index(in.frag_coord.xy, view_z, in.is_orthographic);
    let ranges = clustering::unpack_clusterable_object_index_ranges(cluster_index);
    let first_spot = ranges.first_spot_light_index_offset;
    let end = ranges.first_reflection_probe_index_offset;
    let P = (*lighting_input).P;
    var light = vec3(0.0);
    var lit = lean_next_lit(ranges.first_point_light_index_offset, first_spot, end, P);
    loop {
        if (lit.i < end) {
            let light_id = clustering::get_clusterable_object_id(lit.i);
            let point = lighting::point_light(light_id, lighting_input, true, lit.i < first_spot);
            light += point * lit.falloff;
        }
        lit = lean_next_lit(lit.i + 1u, first_spot, end, P);
        if (lit.i >= end) {
            break;
        }
    }
    return light;
}

// A light of the cluster that reaches a pixel: its index, and its cone's falloff there
// (1 for a point light), worked out once.
struct LeanLit {
    i: u32,
    falloff: f32,
}

// The first light from the `i`-th of the cluster on that reaches `P`: every point light,
// a spot light when `P` is inside its cone; `end` when none does.
fn lean_next_lit(first: u32, first_spot: u32, end: u32, P: vec3<f32>) -> LeanLit {
    var lit = LeanLit(first, 1.0);
    loop {
        if (lit.i >= end || lit.i < first_spot) {
            break;
        }
        let light_id = clustering::get_clusterable_object_id(lit.i);
        lit.falloff = lean_spot_falloff(light_id, lean_to_light(light_id, P));
        if (lit.falloff != 0.0) {
            break;
        }
        lit.i = lit.i + 1u;
    }
    return lit;
}

// The way from `P` to a clustered light, as Bevy's lights work it out.
fn lean_to_light(light_id: u32, P: vec3<f32>) -> vec3<f32> {
    return normalize(view_bindings::clustered_lights.data[light_id].position_radius.xyz - P);
}

// A spot light's cone falloff along `L` (towards the light), as `lighting::spot_light`
// works it out; the catchers' too.
fn lean_spot_falloff(light_id: u32, L: vec3<f32>) -> f32 {
    let light = &view_bindings::clustered_lights.data[light_id];
    var spot_dir = vec3<f32>((*light).light_custom_data.x, 0.0, (*light).light_custom_data.y);
    spot_dir.y = sqrt(max(0.0, 1.0 - spot_dir.x * spot_dir.x - spot_dir.z * spot_dir.z));
    if ((*light).flags & mesh_view_types::POINT_LIGHT_FLAGS_SPOT_LIGHT_Y_NEGATIVE) != 0u {
        spot_dir.y = -spot_dir.y;
    }
    let cd = dot(-spot_dir, L);
    let attenuation = saturate(cd * (*light).light_custom_data.z + (*light).light_custom_data.w);
    return attenuation * attenuation;
}

// The key light's shadow: its cascade for this depth, filtered 2×2 from four texel loads
// (the comparison sampler's filter; lavapipe's sampler costs more than the loads).
fn lean_directional_shadow(
    light_id: u32,
    frag_position: vec4<f32>,
    surface_normal: vec3<f32>,
    view_z: f32,
) -> f32 {
    let light = &view_bindings::lights.directional_lights[light_id];
    let cascade_index = shadows::get_cascade_index(light_id, view_z);
    if (cascade_index >= (*light).num_cascades) {
        return 1.0;
    }
    let cascade = &(*light).cascades[cascade_index];
    let offset = (*light).shadow_normal_bias * (*cascade).texel_size * surface_normal
        + (*light).shadow_depth_bias * (*light).direction_to_light;
    let local = shadows::world_to_directional_light_local(
        light_id, cascade_index, vec4<f32>(frag_position.xyz + offset, frag_position.w));
    if (local.w == 0.0) {
        return 1.0;
    }
    let layer = i32((*light).depth_texture_base_index + cascade_index);
    let size = vec2<i32>(textureDimensions(view_bindings::directional_shadow_textures));
    let texel = local.xy * vec2<f32>(size) - 0.5;
    let first = vec2<i32>(floor(texel));
    let blend = fract(texel);
    let low = clamp(first, vec2<i32>(0), size - 1);
    let high = clamp(first + 1, vec2<i32>(0), size - 1);
    let top = mix(
        lean_texel_lit(vec2(low.x, low.y), local.z, layer),
        lean_texel_lit(vec2(high.x, low.y), local.z, layer),
        blend.x,
    );
    let bottom = mix(
        lean_texel_lit(vec2(low.x, high.y), local.z, layer),
        lean_texel_lit(vec2(high.x, high.y), local.z, layer),
        blend.x,
    );
    return mix(top, bottom, blend.y);
}

// 1 where the fragment is at least as near the light as the stored depth (reversed depth).
fn lean_texel_lit(at: vec2<i32>, depth: f32, layer: i32) -> f32 {
#ifdef NO_ARRAY_TEXTURES_SUPPORT
    let stored = textureLoad(view_bindings::directional_shadow_textures, at, 0);
#else
    let stored = textureLoad(view_bindings::directional_shadow_textures, at, layer, 0);
#endif
    return select(0.0, 1.0, depth >= stored);
}
