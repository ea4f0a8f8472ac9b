//! Headless capture: the on-air camera draws into an offscreen image, and each finished
//! frame is copied to the CPU and handed to the encoder as a numbered [`VideoFrame`].
//!
//! Bevy's own `Readback` component delivers data a frame or two late with no frame number
//! and panics if a buffer fails to map, which is not acceptable for a stream that runs for
//! days. This plugin instead copies the target into a small ring of buffers right after the
//! render graph has been submitted, maps them asynchronously and sends each frame, tagged
//! with the media-clock index it was rendered for, straight to the encoder's channel. The
//! main loop never waits on the GPU unless every buffer of the ring is still in flight, so
//! frame N is read back and encoded while frame N+1 renders.

use crate::media::VideoFrame;
use bevy::{
    asset::RenderAssetUsages,
    prelude::*,
    render::{
        Render, RenderApp, RenderSystems,
        extract_resource::{ExtractResource, ExtractResourcePlugin},
        render_asset::RenderAssets,
        render_resource::{
            Buffer, BufferDescriptor, BufferUsages, CommandEncoderDescriptor, Extent3d, MapMode,
            PollType, TexelCopyBufferInfo, TexelCopyBufferLayout, TextureDimension, TextureFormat,
            TextureUsages,
        },
        renderer::{RenderDevice, RenderQueue, render_system},
        texture::GpuImage,
    },
};
use crossbeam_channel::{Receiver, Sender};
use std::collections::VecDeque;
use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};
use std::time::Duration;

/// Buffers in the readback ring: enough to keep the GPU busy, few enough to bound latency.
const RING: usize = 3;

/// Captures the main program's picture, and those of the programs beside it.
pub struct CapturePlugin {
    pub main: CaptureSpec,
    pub others: Vec<CaptureSpec>,
}

/// One picture to capture: its size and where its frames go.
pub struct CaptureSpec {
    pub width: u32,
    pub height: u32,
    /// Where finished frames go. A full channel blocks rendering: back-pressure from the encoder.
    pub sink: Sender<VideoFrame>,
    /// Frame buffers the encoder is done with, to be reused instead of allocated.
    pub recycled: Receiver<Vec<u8>>,
}

/// The offscreen image the on-air camera renders into.
#[derive(Resource, Clone)]
pub struct CaptureTarget(pub Handle<Image>);

/// The images the cameras of the programs beside the main one render into, in order.
#[derive(Resource, Clone, Default)]
pub struct ViewTargets(pub Vec<Handle<Image>>);

/// Set by the main loop before each update: which media-clock frame this update renders,
/// or `None` to render without capturing (warm-up).
#[derive(Resource, Clone, Default, ExtractResource)]
pub struct CaptureRequest {
    pub frame: Option<u64>,
}

/// Shared counters, visible from the main world; used to drain the ring at shutdown.
#[derive(Resource, Clone)]
pub struct CaptureStatus {
    pub in_flight: Arc<AtomicUsize>,
    pub captured: Arc<AtomicU64>,
    pub failures: Arc<AtomicU64>,
    device: Option<RenderDevice>,
}

impl CaptureStatus {
    /// Blocks until every requested frame has been delivered (or `timeout` passes).
    /// Returns whether the ring is empty.
    pub fn drain(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.in_flight.load(Ordering::Acquire) > 0 {
            if std::time::Instant::now() > deadline {
                return false;
            }
            match &self.device {
                Some(device) => {
                    let _ = device.wgpu_device().poll(PollType::Wait {
                        submission_index: None,
                        timeout: Some(Duration::from_millis(200)),
                    });
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        true
    }
}

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        let status = CaptureStatus {
            in_flight: Arc::default(),
            captured: Arc::default(),
            failures: Arc::default(),
            device: None,
        };
        let mut rings = Vec::new();
        for spec in std::iter::once(&self.main).chain(&self.others) {
            let target = new_target_image(spec.width, spec.height);
            let handle = app.world_mut().resource_mut::<Assets<Image>>().add(target);
            rings.push(CaptureRing::new(handle, spec, status.clone()));
        }
        let views = ViewTargets(rings[1..].iter().map(|r| r.target.clone()).collect());
        app.insert_resource(CaptureTarget(rings[0].target.clone()))
            .insert_resource(views)
            .insert_resource(status.clone())
            .init_resource::<CaptureRequest>()
            .add_plugins(ExtractResourcePlugin::<CaptureRequest>::default());

        if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
            render_app.insert_resource(CaptureRings(rings)).add_systems(
                Render,
                copy_target_to_ring
                    .in_set(RenderSystems::Render)
                    .after(render_system),
            );
        }
    }

    fn finish(&self, app: &mut App) {
        let device = app.world().get_resource::<RenderDevice>().cloned();
        if let Some(mut status) = app.world_mut().get_resource_mut::<CaptureStatus>() {
            status.device = device;
        }
    }
}

/// An offscreen image a camera can draw into and capture can copy from.
pub fn new_target_image(width: u32, height: u32) -> Image {
    let mut image = Image::new_uninit(
        Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    image.texture_descriptor.usage |= TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC;
    image
}

/// Render-world state of every picture's readback ring.
#[derive(Resource)]
struct CaptureRings(Vec<CaptureRing>);

/// Render-world state of one picture's readback ring.
struct CaptureRing {
    target: Handle<Image>,
    created: usize,
    returned_tx: Sender<Buffer>,
    returned_rx: Receiver<Buffer>,
    /// The submissions of the copies still in flight, oldest first.
    in_flight: VecDeque<wgpu::SubmissionIndex>,
    sink: Sender<VideoFrame>,
    recycled: Receiver<Vec<u8>>,
    status: CaptureStatus,
}

impl CaptureRing {
    fn new(target: Handle<Image>, spec: &CaptureSpec, status: CaptureStatus) -> Self {
        let (returned_tx, returned_rx) = crossbeam_channel::unbounded();
        Self {
            target,
            created: 0,
            returned_tx,
            returned_rx,
            in_flight: VecDeque::new(),
            sink: spec.sink.clone(),
            recycled: spec.recycled.clone(),
            status,
        }
    }

    /// A free buffer: a returned one, a new one while the ring is not full, or — when every
    /// buffer is in flight — the oldest, once the GPU has finished its copy. Only that copy
    /// is waited for: waiting for all work submitted (wgpu's default) would let the GPU run
    /// dry before the next frame is built, so the two would take turns instead of overlapping.
    fn acquire(&mut self, device: &RenderDevice, size: u64) -> Buffer {
        loop {
            if let Ok(buffer) = self.returned_rx.try_recv() {
                if buffer.size() == size {
                    return buffer;
                }
                self.created -= 1;
                continue;
            }
            if self.created < RING {
                self.created += 1;
                return device.create_buffer(&BufferDescriptor {
                    label: Some("twincast capture"),
                    size,
                    usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
            }
            let _ = device.wgpu_device().poll(PollType::Wait {
                submission_index: self.in_flight.pop_front(),
                timeout: Some(Duration::from_millis(200)),
            });
        }
    }
}

/// Copies each picture into a buffer of its ring, to be mapped and sent on.
fn copy_target_to_ring(
    request: Res<CaptureRequest>,
    images: Res<RenderAssets<GpuImage>>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut rings: ResMut<CaptureRings>,
) {
    let Some(index) = request.frame else {
        return;
    };
    for ring in &mut rings.0 {
        capture_one(index, ring, &images, &device, &queue);
    }
}

fn capture_one(
    index: u64,
    ring: &mut CaptureRing,
    images: &RenderAssets<GpuImage>,
    device: &RenderDevice,
    queue: &RenderQueue,
) {
    let Some(image) = images.get(&ring.target) else {
        ring.status.failures.fetch_add(1, Ordering::Relaxed);
        warn!("capture target not ready for frame {index}");
        return;
    };
    let size = image.texture_descriptor.size;
    let padded_row = RenderDevice::align_copy_bytes_per_row(size.width as usize * 4);
    let buffer = ring.acquire(device, (padded_row * size.height as usize) as u64);

    let mut encoder = device.create_command_encoder(&CommandEncoderDescriptor {
        label: Some("twincast capture copy"),
    });
    encoder.copy_texture_to_buffer(
        image.texture.as_image_copy(),
        TexelCopyBufferInfo {
            buffer: &buffer,
            layout: TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row as u32),
                rows_per_image: None,
            },
        },
        size,
    );
    let submission = queue.submit([encoder.finish()]);
    ring.in_flight.push_back(submission);
    if ring.in_flight.len() > RING {
        ring.in_flight.pop_front();
    }

    ring.status.in_flight.fetch_add(1, Ordering::AcqRel);
    let delivery = Delivery {
        index,
        width: size.width,
        height: size.height,
        padded_row,
        buffer: buffer.clone(),
        sink: ring.sink.clone(),
        recycled: ring.recycled.clone(),
        returned: ring.returned_tx.clone(),
        status: ring.status.clone(),
    };
    buffer
        .slice(..)
        .map_async(MapMode::Read, move |result| delivery.complete(result));
    let _ = device.wgpu_device().poll(PollType::Poll);
}

/// Everything the map callback needs to turn a mapped buffer into a [`VideoFrame`].
struct Delivery {
    index: u64,
    width: u32,
    height: u32,
    padded_row: usize,
    buffer: Buffer,
    sink: Sender<VideoFrame>,
    recycled: Receiver<Vec<u8>>,
    returned: Sender<Buffer>,
    status: CaptureStatus,
}

impl Delivery {
    fn complete(self, result: Result<(), bevy::render::render_resource::BufferAsyncError>) {
        match result {
            Ok(()) => {
                let row = self.width as usize * 4;
                let mut rgba = self.recycled.try_recv().unwrap_or_default();
                rgba.clear();
                rgba.reserve(row * self.height as usize);
                {
                    let view = self.buffer.slice(..).get_mapped_range();
                    for y in 0..self.height as usize {
                        let start = y * self.padded_row;
                        rgba.extend_from_slice(&view[start..start + row]);
                    }
                }
                self.buffer.unmap();
                self.status.captured.fetch_add(1, Ordering::Relaxed);
                // Blocks while the encoder is behind; an encoder that has gone away is not our
                // problem to report (it reports its own error).
                let _ = self.sink.send(VideoFrame {
                    index: self.index,
                    width: self.width,
                    height: self.height,
                    rgba,
                });
            }
            Err(error) => {
                self.status.failures.fetch_add(1, Ordering::Relaxed);
                error!("frame {} readback failed: {error}", self.index);
            }
        }
        let _ = self.returned.send(self.buffer);
        self.status.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
