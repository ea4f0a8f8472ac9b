// twincast: the lights as MToon's two passes see them (presenter::toon): how much of each
// of the view's lights arrives at a point, and how far it is shadowed there. The toon
// surface (mtoon.wgsl) shades each light on its ramp; the outline (mtoon_outline.wgsl)
// is tinted by what arrives in all.

#define_import_path twincast::mtoon_light

#import bevy_pbr::{
    mesh_view_bindings as view_bindings,
    mesh_view_types,
    clustered_forward as clustering,
    shadows,
    lighting,
}

const PI: f32 = 3.141592653589793;

// One light at a point: the direction to it, its light arriving there (colour times
// strength, over π as Bevy's lights are), and how unshadowed the point is (0–1).
struct Arrival {
    L: vec3<f32>,
    light: vec3<f32>,
    shadow: f32,
}

// The view-space depth of world point `P`: what picks its cluster and shadow cascade.
fn view_z(P: vec4<f32>) -> f32 {
    return dot(vec4<f32>(
        view_bindings::view.view_from_world[0].z,
        view_bindings::view.view_from_world[1].z,
        view_bindings::view.view_from_world[2].z,
        view_bindings::view.view_from_world[3].z
    ), P);
}

// The range of the cluster's point and spot lights, for the fragment at `frag` (pixels)
// at depth `z`.
fn cluster_lights(frag: vec2<f32>, z: f32, orthographic: bool) -> clustering::ClusterableObjectIndexRanges {
    let cluster = clustering::view_fragment_cluster_index(frag, z, orthographic);
    return clustering::unpack_clusterable_object_index_ranges(cluster);
}

// Clusterable light `i` of `ranges` (a point or spot light) at world point `P` with
// normal `N`; its shadow looked up where `shadowed`.
fn clustered(i: u32, ranges: clustering::ClusterableObjectIndexRanges, P: vec4<f32>,
        N: vec3<f32>, frag: vec2<f32>, shadowed: bool) -> Arrival {
    let id = clustering::get_clusterable_object_id(i);
    let light = &view_bindings::clustered_lights.data[id];
    let to_light = (*light).position_radius.xyz - P.xyz;
    var out: Arrival;
    out.L = normalize(to_light);
    var strength = lighting::getDistanceAttenuation(dot(to_light, to_light),
        (*light).color_inverse_square_range.w);
    out.shadow = 1.0;
    let casts = shadowed
        && ((*light).flags & mesh_view_types::POINT_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u;
    if i >= ranges.first_spot_light_index_offset {
        var spot_dir = vec3<f32>((*light).light_custom_data.x, 0.0, (*light).light_custom_data.y);
        spot_dir.y = sqrt(max(0.0, 1.0 - spot_dir.x * spot_dir.x - spot_dir.z * spot_dir.z));
        if ((*light).flags & mesh_view_types::POINT_LIGHT_FLAGS_SPOT_LIGHT_Y_NEGATIVE) != 0u {
            spot_dir.y = -spot_dir.y;
        }
        let cone = saturate(dot(-spot_dir, out.L) * (*light).light_custom_data.z
            + (*light).light_custom_data.w);
        strength *= cone * cone;
        if casts {
            out.shadow = shadows::fetch_spot_shadow(id, P, N, (*light).shadow_map_near_z, frag);
        }
    } else if casts {
        out.shadow = shadows::fetch_point_shadow(id, P, N, frag);
    }
    out.light = (*light).color_inverse_square_range.rgb * strength / PI;
    return out;
}

// Directional light `i` at world point `P` (view depth `z`) with normal `N`; its shadow
// looked up where `shadowed`.
fn directional(i: u32, P: vec4<f32>, N: vec3<f32>, z: f32, frag: vec2<f32>, shadowed: bool) -> Arrival {
    let light = &view_bindings::lights.directional_lights[i];
    var out: Arrival;
    out.L = (*light).direction_to_light;
    out.light = (*light).color.rgb / PI;
    out.shadow = 1.0;
    if shadowed && ((*light).flags & mesh_view_types::DIRECTIONAL_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u {
        out.shadow = shadows::fetch_directional_shadow(i, P, N, z, frag);
    }
    return out;
}
