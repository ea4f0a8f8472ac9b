// A set piece held out of the host's layer: it hides what lies behind it, as in the
// picture, and leaves its own pixels transparent, so the backdrop shows them.
#import bevy_pbr::forward_io::VertexOutput

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    return vec4<f32>(0.0);
}
