//! Programs made beside the main one from the same world (`[[outputs]] program = …`): a
//! vertical picture for a phone's live room, another market's language. Each has its own
//! camera into the world, graphics laid out for its picture, a mix of its own (its host's
//! lines, the shared music bed), an encoder and outputs. The rundown is the main one's:
//! a program in the same market (language and currency) says the same lines; one in
//! another says each line in its own words and prices, in step (see `runtime::echo`),
//! voiced once per market.

use super::audio::{load_effects, mix_settings, music_bed};
use super::rundown::Rundown;
use super::{RunError, show_run};
use crate::capture::CaptureSpec;
use crate::config::ShowConfig;
use crate::encode::{EncodeSummary, EncoderThread, Encoding};
use crate::media::{MediaClock, VideoFrame};
use crate::mix::ProgramMixer;
use crate::output::OutputSet;
use crate::scene::ViewCamera;
use crate::show::Market;
use crate::speech::{ScheduledLine, Speaker, forget_said};
use crate::stage::{ProgramFeed, ProgramFeeds};
use crossbeam_channel::{Receiver, Sender};
use tracing::{info, warn};

/// One program beside the main one, running.
pub struct OtherProgram {
    pub name: String,
    /// Its language, prices and currency.
    market: Market,
    /// Whose lines it says: the main program's (same market), or an echo's.
    lines: Lines,
    pub outputs: OutputSet,
    encoder: Option<EncoderThread>,
    /// The encoding and the frames' channels until the renderer exists.
    waiting: Option<(Encoding<()>, Receiver<VideoFrame>, Sender<Vec<u8>>)>,
}

impl OtherProgram {
    /// Sets up program `index` (1 and up): its mix joined to `rundown`, its encoder (not
    /// started) and its outputs (started). Returns it with what its camera needs.
    pub fn prepare(
        index: usize,
        (show, urls): &(ShowConfig, Vec<String>),
        main: &ShowConfig,
        rundown: Option<&mut Rundown>,
        clock: MediaClock,
        origin: u64,
    ) -> Result<(Self, (ViewCamera, CaptureSpec)), RunError> {
        let name = show.program.clone().unwrap_or_default();
        let market = market_of(show);
        let (lines, schedule) = match rundown {
            Some(rundown) => {
                let (lines, schedule) = join_rundown(rundown, show, &market, main)?;
                (lines, Some(schedule))
            }
            None => (Lines::Main, None),
        };
        let mixer = ProgramMixer::new(music_bed(show)?, schedule, mix_settings(show));
        let encoding = show_run::encoding(show, Box::new(mixer), clock)?.with_origin(origin);
        let outputs = show_run::start_outputs(urls, &encoding, show)?;
        let (frame_tx, frame_rx) = crossbeam_channel::bounded(show_run::FRAME_QUEUE);
        let (recycle_tx, recycle_rx) = crossbeam_channel::bounded(show_run::FRAME_QUEUE + 4);
        let (width, height) = show.render_size();
        let cameras = (show.program(&name))
            .map(|p| p.cameras.clone())
            .unwrap_or_default();
        let view = ViewCamera {
            index,
            cameras: main_cameras_swapped(main, cameras),
            width,
            height,
        };
        let capture = CaptureSpec {
            width,
            height,
            sink: frame_tx,
            recycled: recycle_rx,
        };
        info!(
            "program `{name}`: {width}×{height}, {}, to {} output(s)",
            show.language,
            urls.len()
        );
        let program = Self {
            name,
            market,
            lines,
            outputs,
            encoder: None,
            waiting: Some((encoding, frame_rx, recycle_tx)),
        };
        Ok((program, (view, capture)))
    }

    /// Starts the encoder, once the renderer that feeds it exists.
    pub fn start_encoder(&mut self) {
        if let Some((encoding, frames, recycle)) = self.waiting.take() {
            let encoding = encoding.with_sink(self.outputs.fanout());
            self.encoder = Some(EncoderThread::spawn(encoding, frames, recycle));
        }
    }

    /// Flushes the encoder and closes the outputs: the frames encoded, each output's url
    /// and bytes. Called after the renderer has delivered its last frame.
    pub fn close(self) -> (Option<EncodeSummary>, Vec<(String, u64)>) {
        let summary = self
            .encoder
            .map(EncoderThread::finish)
            .and_then(|r| r.map_err(|e| warn!("program `{}`: {e}", self.name)).ok());
        let (written, errors) = show_run::close_outputs(self.outputs);
        for e in errors {
            warn!("program output {e}");
        }
        (summary, written)
    }
}

/// The main program's cameras as this program frames them: its own swaps, where the main
/// program (itself made with `--program`) already swapped some, applied to those too.
fn main_cameras_swapped(
    main: &ShowConfig,
    mut cameras: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    let Some(main_program) = main.program.as_deref().and_then(|n| main.program(n)) else {
        return cameras;
    };
    for (original, swapped) in &main_program.cameras {
        let ours = cameras.get(original).unwrap_or(original).clone();
        cameras.insert(swapped.clone(), ours);
    }
    cameras
}

/// Whose lines a program says.
#[derive(Debug, Clone, Copy)]
enum Lines {
    Main,
    Echo(usize),
}

/// The language, prices and currency of a program's show.
fn market_of(show: &ShowConfig) -> Market {
    Market {
        language: show.language.clone(),
        currency: show.plan.overlay.currency.clone(),
        products: show.plan.products.clone(),
    }
}

/// Joins a program's mix to the rundown: the main program's lines (same market), or
/// those of the echo for its market, voiced once for every program in it.
/// Returns whose lines and where they arrive.
fn join_rundown(
    rundown: &mut Rundown,
    show: &ShowConfig,
    market: &Market,
    main: &ShowConfig,
) -> Result<(Lines, Receiver<ScheduledLine>), RunError> {
    let (to_mixer, schedule) = crossbeam_channel::unbounded();
    let main_market = (&main.language, &main.plan.overlay.currency);
    if (&market.language, &market.currency) == main_market {
        rundown.also_to(to_mixer);
        return Ok((Lines::Main, schedule));
    }
    if let Some(echo) = rundown.echo_of(market) {
        rundown.echo_also_to(echo, to_mixer);
        return Ok((Lines::Echo(echo), schedule));
    }
    let a = &show.audio;
    let (speaker, io) = Speaker::spawn(
        show.voice.clone(),
        a.normalize.then_some(a.loudness_lufs),
        load_effects(&a.effects)?,
    );
    let echo = rundown.add_echo(market.clone(), speaker, io, to_mixer);
    Ok((Lines::Echo(echo), schedule))
}

/// Hands each program's view of the show to the world before a frame: what is on air in
/// its language, and the line just put on its timeline (`main_line` for programs saying
/// the main one's, the rundown's echoes for the others). Lines long over are dropped.
pub fn feed(
    feeds: &mut ProgramFeeds,
    programs: &[OtherProgram],
    rundown: &mut Rundown,
    main_line: Option<&ScheduledLine>,
    now: f64,
) {
    feeds.0.resize_with(programs.len(), ProgramFeed::default);
    let echoed = rundown.take_echoed();
    for (feed, program) in feeds.0.iter_mut().zip(programs) {
        feed.on_air = rundown.on_air_in(&program.market);
        feed.currency.clone_from(&program.market.currency);
        match program.lines {
            Lines::Main => feed.speech.extend(main_line.cloned()),
            Lines::Echo(echo) => {
                let ours = echoed.iter().filter(|(i, _)| *i == echo);
                feed.speech.extend(ours.map(|(_, line)| line.clone()));
            }
        }
        forget_said(&mut feed.speech, now);
    }
}
