// Her shadow on a set piece, over a backdrop that has the piece lit without her
// (camera::held::catcher). Writes depth, and for colour only how much her shadow darkens
// the backdrop there: black with that opacity, blended as premultiplied alpha by the
// host's layer. Used with lean lighting (a CPU renderer), whose shadow lookup it shares.
//
// The darkening is the ratio of the piece's light with and without what the shadowed
// lights lose there, both tone mapped as the set is: the shadowed lights are Bevy's own
// BRDF; the other lights are only their diffuse share (enough for a ratio), which is
// what makes this cheaper than lighting the piece.
#import bevy_pbr::{
    forward_io::VertexOutput,
    mesh_view_bindings as view_bindings,
    mesh_view_types,
    lighting,
    pbr_functions,
    clustered_forward as clustering,
    ambient,
    view_transformations,
}
#import bevy_render::maths::PI
#ifdef TONEMAP_IN_SHADER
#import bevy_core_pipeline::tonemapping::tone_mapping
#endif

struct Catcher {
    base_color: vec4<f32>,
    reflectance: vec4<f32>,
    perceptual_roughness: f32,
    metallic: f32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> catcher: Catcher;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let is_orthographic = view_bindings::view.clip_from_view[3].w == 1.0;
    let N = normalize(in.world_normal);
    let view_z = view_transformations::position_world_to_view(in.world_position.xyz).z;

    // Most of a catcher lies where no shadow falls, and darkens nothing there: the light
    // is reckoned only where one does (on lavapipe a pixel costs what its shader runs).
    // The loops over lights test their end at the bottom (`lean_lighting.wgsl` says why).
    let directional_lights = view_bindings::lights.n_directional_lights;
    var shadows: array<f32, #{MAX_DIRECTIONAL_LIGHTS}u>;
    var shaded = false;
    var i = 0u;
    loop {
        if (i < directional_lights) {
            shadows[i] = 1.0;
            if ((view_bindings::lights.directional_lights[i].flags
                    & mesh_view_types::DIRECTIONAL_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u) {
                shadows[i] = pbr_functions::lean_directional_shadow(i, in.world_position, N, view_z);
                shaded = shaded || shadows[i] < 1.0;
            }
        }
        i = i + 1u;
        if (i >= directional_lights) {
            break;
        }
    }
    if (!shaded) {
        return vec4<f32>(0.0);
    }

    let V = pbr_functions::calculate_view(in.world_position, is_orthographic);
    let diffuse_color = pbr_functions::calculate_diffuse_color(
        catcher.base_color.rgb, catcher.metallic, 0.0, 0.0);
    var input = pbr_functions::lean_lighting_input(
        in.world_position.xyz, N, V, catcher.base_color.rgb, diffuse_color, catcher.metallic,
        catcher.perceptual_roughness, catcher.reflectance.rgb,
    );
    var lit = vec3(0.0);
    var lost = vec3(0.0);
    i = 0u;
    loop {
        if (i < directional_lights) {
            let light = lighting::directional_light(i, &input, true);
            lit += light;
            lost += light * (1.0 - shadows[i]);
        }
        i = i + 1u;
        if (i >= directional_lights) {
            break;
        }
    }
    let cluster = clustering::view_fragment_cluster_index(in.position.xy, view_z, is_orthographic);
    lit += input.diffuse_color * catcher_clustered_diffuse(cluster, in.world_position.xyz, N);
    let NdotV = input.layers[lighting::LAYER_BASE].NdotV;
    let F0 = pbr_functions::calculate_F0(
        catcher.base_color.rgb, catcher.metallic, catcher.reflectance.rgb);
    lit += ambient::ambient_light(
        in.world_position, N, V, NdotV, input.diffuse_color, F0,
        catcher.perceptual_roughness, vec3(1.0),
    );

    let exposure = view_bindings::view.exposure;
    let before = catcher_luminance(exposure * lit);
    let after = catcher_luminance(exposure * max(lit - lost, vec3(0.0)));
    return vec4<f32>(0.0, 0.0, 0.0, saturate(1.0 - after / max(before, 1e-5)));
}

// The point and spot lights of the fragment's cluster, diffuse only (Lambert), per unit of
// diffuse colour.
fn catcher_clustered_diffuse(cluster: u32, P: vec3<f32>, N: vec3<f32>) -> vec3<f32> {
    let ranges = clustering::unpack_clusterable_object_index_ranges(cluster);
    let end = ranges.first_reflection_probe_index_offset;
    var light = vec3(0.0);
    var i = ranges.first_point_light_index_offset;
    loop {
        if (i < end) {
            let id = clustering::get_clusterable_object_id(i);
            let data = &view_bindings::clustered_lights.data[id];
            let to_light = (*data).position_radius.xyz - P;
            let distance_square = dot(to_light, to_light);
            let L = to_light * inverseSqrt(max(distance_square, 1e-8));
            var reach = lighting::getDistanceAttenuation(
                distance_square, (*data).color_inverse_square_range.w);
            if (i >= ranges.first_spot_light_index_offset) {
                reach *= pbr_functions::lean_spot_falloff(id, L);
            }
            light += (*data).color_inverse_square_range.rgb * reach * saturate(dot(N, L)) / PI;
        }
        i = i + 1u;
        if (i >= end) {
            break;
        }
    }
    return light;
}

// Light as the picture shows it (tone mapped, before encoding), as one luminance.
fn catcher_luminance(light: vec3<f32>) -> f32 {
#ifdef TONEMAP_IN_SHADER
    let shown = tone_mapping(vec4<f32>(light, 1.0), view_bindings::view.color_grading).rgb;
#else
    let shown = light;
#endif
    return dot(shown, vec3<f32>(0.2126, 0.7152, 0.0722));
}

