// The host's layer: her image as it is. Its colours are premultiplied by coverage (she is
// drawn on a transparent clear and anti-aliased); the pipeline blends them as such.
#import bevy_ui::ui_vertex_output::UiVertexOutput

@group(1) @binding(0) var image: texture_2d<f32>;
@group(1) @binding(1) var image_sampler: sampler;

@fragment
fn fragment(in: UiVertexOutput) -> @location(0) vec4<f32> {
    return textureSample(image, image_sampler, in.uv);
}
