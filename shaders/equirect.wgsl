// Equirectangular projection of a cube map rendered as six 90° faces.
//
// Every output pixel is a direction on the sphere: longitude from the picture's x (the
// centre looks forward, along the rig's -Z; x = 3/4 looks right, +X), latitude from its y
// (top = straight up). The direction picks the face it falls in, and is projected onto that
// face exactly as the face's camera projected the scene: u = 0.5 + 0.5 * dot(d, right) /
// dot(d, forward), v = 0.5 - 0.5 * dot(d, up) / dot(d, forward).
#import bevy_ui::ui_vertex_output::UiVertexOutput

@group(1) @binding(0) var pos_x: texture_2d<f32>;
@group(1) @binding(1) var pos_x_sampler: sampler;
@group(1) @binding(2) var neg_x: texture_2d<f32>;
@group(1) @binding(3) var neg_x_sampler: sampler;
@group(1) @binding(4) var pos_y: texture_2d<f32>;
@group(1) @binding(5) var pos_y_sampler: sampler;
@group(1) @binding(6) var neg_y: texture_2d<f32>;
@group(1) @binding(7) var neg_y_sampler: sampler;
@group(1) @binding(8) var pos_z: texture_2d<f32>;
@group(1) @binding(9) var pos_z_sampler: sampler;
@group(1) @binding(10) var neg_z: texture_2d<f32>;
@group(1) @binding(11) var neg_z_sampler: sampler;

const PI: f32 = 3.14159265358979;

// Where direction `d` lands on the face looking along `forward` with `up` (right = forward × up).
fn face_uv(d: vec3<f32>, forward: vec3<f32>, up: vec3<f32>) -> vec2<f32> {
    let right = cross(forward, up);
    let depth = dot(d, forward);
    return vec2<f32>(0.5 + 0.5 * dot(d, right) / depth, 0.5 - 0.5 * dot(d, up) / depth);
}

@fragment
fn fragment(in: UiVertexOutput) -> @location(0) vec4<f32> {
    let lon = (in.uv.x - 0.5) * 2.0 * PI;
    let lat = (0.5 - in.uv.y) * PI;
    let d = vec3<f32>(cos(lat) * sin(lon), sin(lat), -cos(lat) * cos(lon));
    let a = abs(d);
    // The same face choice and orientation as the cameras in src/vr/mod.rs.
    if (a.x >= a.y && a.x >= a.z) {
        if (d.x > 0.0) {
            return textureSampleLevel(pos_x, pos_x_sampler, face_uv(d, vec3(1.0, 0.0, 0.0), vec3(0.0, 1.0, 0.0)), 0.0);
        }
        return textureSampleLevel(neg_x, neg_x_sampler, face_uv(d, vec3(-1.0, 0.0, 0.0), vec3(0.0, 1.0, 0.0)), 0.0);
    }
    if (a.y >= a.z) {
        if (d.y > 0.0) {
            return textureSampleLevel(pos_y, pos_y_sampler, face_uv(d, vec3(0.0, 1.0, 0.0), vec3(0.0, 0.0, 1.0)), 0.0);
        }
        return textureSampleLevel(neg_y, neg_y_sampler, face_uv(d, vec3(0.0, -1.0, 0.0), vec3(0.0, 0.0, -1.0)), 0.0);
    }
    if (d.z > 0.0) {
        return textureSampleLevel(pos_z, pos_z_sampler, face_uv(d, vec3(0.0, 0.0, 1.0), vec3(0.0, 1.0, 0.0)), 0.0);
    }
    return textureSampleLevel(neg_z, neg_z_sampler, face_uv(d, vec3(0.0, 0.0, -1.0), vec3(0.0, 1.0, 0.0)), 0.0);
}
