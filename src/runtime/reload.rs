//! Edits to a running show's files: the show file (its catalog and rundown) and the scene
//! (the set, its props' files, the cameras). Each edit is checked as start checks it, and
//! against the other file (a shot must name a camera the scene has); a good one is taken,
//! a bad one is named in the log and the console's feed, and the show goes on as it was.

use super::rundown::Rundown;
use crate::api::{Feed, FeedKind, Known};
use crate::config::ShowConfig;
use crate::config::plan::ShowPlan;
use crate::presenter::{PreparedMotion, Redress};
use crate::scene::{
    LoadedScene, ModelFilesWatch, PresenterSpec, SceneDescription, ShowroomSettings,
};
use crate::twin::TwinFeeds;
use crate::watch::FileWatch;
use bevy::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing::{info, warn};

/// What the operator sees of a reload beside the log: the API's names (products, FAQ,
/// cameras) that requests are checked against and the console's menus are built from, and
/// the console's feed. Both absent without the API.
#[derive(Clone, Default)]
pub struct Told {
    pub known: Option<Arc<Mutex<Known>>>,
    pub feed: Option<Feed>,
}

impl Told {
    fn known(&self, change: impl FnOnce(&mut Known)) {
        if let Some(known) = &self.known {
            change(&mut known.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// A line in the feed, as an action on the show by whoever saved `file`.
    fn note(&self, file: &Path, text: &str) {
        if let Some(feed) = &self.feed {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            feed.push(FeedKind::Action, "file", &format!("{name}: {text}"));
        }
    }

    /// A refused edit: warned in the log and noted in the feed.
    fn refused(&self, file: &Path, why: &str, goes_on: &str) {
        warn!("{why}; {goes_on}");
        self.note(file, &format!("edit refused: {why}"));
    }

    /// The product shots of `plans` that `scene` spoils ([`crate::camera::sight`]), as start
    /// warns of them: an edit that stands the presenter in front of a product, or puts a
    /// product shot behind her, is taken (the show is the operator's) but not in silence.
    fn spoiled_shots<'a>(
        &self,
        file: &Path,
        scene: &SceneDescription,
        plans: impl Iterator<Item = &'a ShowPlan>,
    ) {
        let problems = plans.flat_map(|plan| crate::camera::sight::blocked_shots(scene, plan));
        self.warnings(file, problems);
    }

    /// What an edit taken leaves wrong, each once: warned in the log and noted in the feed.
    fn warnings(&self, file: &Path, problems: impl Iterator<Item = String>) {
        let mut said = Vec::new();
        for problem in problems {
            if !said.contains(&problem) {
                warn!("{}: {problem}", file.display());
                self.note(file, &format!("warning: {problem}"));
                said.push(problem);
            }
        }
    }
}

/// Watches the show file: a saved edit that is valid, its shots naming cameras the scene
/// has, takes over at the next segment (the director's rule) and the API learns its
/// products and answers; any other is refused and changes nothing. What an edit changes
/// outside the rundown is named as waiting for a restart.
pub struct ShowWatch {
    file: FileWatch,
    /// The text the show started from.
    running: Arc<str>,
    told: Told,
}

impl ShowWatch {
    /// `None` (with a warning) where the file cannot be watched.
    pub fn new(path: &Path, running: Arc<str>, told: Told) -> Option<Self> {
        let file = FileWatch::or_warn(path.to_path_buf(), "show edits need a restart")?;
        Some(Self {
            file,
            running,
            told,
        })
    }

    pub fn poll(&mut self, app: &App, rundown: &mut Rundown) {
        if !self.file.changed() {
            return;
        }
        let path = self.file.path.clone();
        let goes_on = "the show goes on as it was";
        let scene = &app.world().resource::<ShowroomSettings>().scene;
        let (show, waiting) =
            match ShowConfig::load_edit(&path, &scene.description.names(), &self.running) {
                Ok(loaded) => loaded,
                Err(e) => return self.told.refused(&path, &e.to_string(), goes_on),
            };
        if show.plan.segments.is_empty() && rundown.director.is_active() {
            let why = format!("{}: the edited rundown has no segments", path.display());
            return self.told.refused(&path, &why, goes_on);
        }
        let plan = std::iter::once(&show.plan);
        self.told.spoiled_shots(&path, &scene.description, plan);
        (self.told).warnings(
            &path,
            show.plan.unsaid_lines(&show.text_language).into_iter(),
        );
        self.take(&path, show, &waiting, rundown);
    }

    /// A valid edit: on air from the next segment; what waits for a restart is said.
    fn take(&self, path: &Path, show: ShowConfig, waiting: &[String], rundown: &mut Rundown) {
        info!(
            "{}: changed; the new rundown starts at the next segment",
            path.display()
        );
        let mut note = format!(
            "reloaded ({} segments): on air from the next segment",
            show.plan.segments.len()
        );
        if !waiting.is_empty() {
            let waiting = format!("{} changed: read at start only", waiting.join(", "));
            warn!("{}: {waiting}, so on air after a restart", path.display());
            note = format!("{note}; {waiting}");
        }
        self.told.note(path, &note);
        self.told.known(|k| k.refresh_plan(&show.plan));
        rundown.director.reload(show.plan);
    }
}

/// Watches the scene file, its props' files and the presenter's: a saved edit (from
/// `twincast edit` or by hand) rebuilds the set in the running show, and so does a prop's
/// file saved again ([`ModelFilesWatch`]); the cameras and the presenter take their places
/// at once. Her avatar's file or a clip's saved again, or an edit that changes her avatar,
/// clips or bones, dresses her again ([`Redress`]). A broken scene, one without a camera the
/// show names, or one whose presenter cannot be put on stage is refused and changes
/// nothing.
pub struct SceneWatch {
    scene: FileWatch,
    props: ModelFilesWatch,
    her: ModelFilesWatch,
    /// The twin's feeds, which take an edit to the scene's list of them; absent in a show
    /// started without feeds, where such an edit waits for a restart.
    twin: Option<TwinFeeds>,
    told: Told,
}

impl SceneWatch {
    /// Watches `path`, and the props' and the presenter's files of `loaded`, the scene
    /// read from it.
    pub fn new(
        path: PathBuf,
        loaded: &LoadedScene,
        twin: Option<TwinFeeds>,
        told: Told,
    ) -> Option<Self> {
        let scene = FileWatch::or_warn(path, "scene edits need a restart")?;
        let mut watch = Self {
            scene,
            props: ModelFilesWatch::default(),
            her: ModelFilesWatch::default(),
            twin,
            told,
        };
        watch.follow(loaded);
        Some(watch)
    }

    fn follow(&mut self, scene: &LoadedScene) {
        self.props.follow(scene.prop_files());
        self.her.follow(scene.presenter_files());
    }

    pub fn poll(&mut self, app: &mut App, rundown: Option<&Rundown>) {
        if self.scene.changed() {
            self.reload_scene(app, rundown);
        } else if let Some(file) = self.her.changed_file() {
            self.dress_her_again(app, &file);
        } else if let Some(file) = self.props.changed_file() {
            info!("{}: changed; the set is rebuilt", file.display());
            app.world_mut()
                .resource_mut::<ShowroomSettings>()
                .set_changed();
        }
    }

    fn reload_scene(&mut self, app: &mut App, rundown: Option<&Rundown>) {
        let path = self.scene.path.clone();
        let goes_on = "the scene stays as it was";
        let scene = match LoadedScene::load(&path) {
            Ok(scene) => scene,
            Err(e) => return self.told.refused(&path, &e.to_string(), goes_on),
        };
        let settings = app.world().resource::<ShowroomSettings>();
        if let Some(problem) = named_but_gone(&scene, settings, rundown) {
            let why = format!("{}: {problem}", path.display());
            return self.told.refused(&path, &why, goes_on);
        }
        let running = &settings.scene.description.presenter;
        let redress = match dressed_alike(running, &scene.description.presenter) {
            true => None,
            false => match PreparedMotion::prepare_again(&scene) {
                Ok(motion) => Some(Redress(motion)),
                Err(e) => return self.told.refused(&path, &e.to_string(), goes_on),
            },
        };
        self.say_taken(&path, &scene, redress.is_some(), rundown);
        self.follow(&scene);
        app.world_mut().resource_mut::<ShowroomSettings>().scene = scene;
        if let Some(redress) = redress {
            app.world_mut().insert_resource(redress);
        }
    }

    /// A scene edit taken: said in the log and the feed, with what waits for a restart and
    /// the product shots it spoils; the API learns its cameras.
    fn say_taken(
        &self,
        path: &Path,
        scene: &LoadedScene,
        redressed: bool,
        rundown: Option<&Rundown>,
    ) {
        info!(
            "{}: changed; the set is rebuilt, the cameras and the presenter take their \
             places{}",
            path.display(),
            match (redressed, &scene.description.presenter) {
                (false, _) => "",
                (true, Some(_)) => ", her avatar put on stage again",
                (true, None) => ", the presenter taken off",
            }
        );
        self.told.note(
            path,
            "reloaded: the set rebuilt, the cameras and the presenter in their places",
        );
        self.take_the_feeds(path, scene);
        self.told.known(|k| k.set = scene.description.names());
        let plans = rundown.into_iter().flat_map(|r| r.director.plans());
        self.told.spoiled_shots(path, &scene.description, plans);
    }

    /// The edited scene's twin feeds, where they changed: taken by the running feeds, or
    /// waiting for a restart in a show that started without any.
    fn take_the_feeds(&self, path: &Path, scene: &LoadedScene) {
        match &self.twin {
            Some(twin) if twin.follow(scene) => {
                info!("{}: the twin's feeds taken as edited", path.display());
                self.told.note(path, "the twin's feeds taken as edited");
            }
            Some(_) => {}
            None if !scene.description.feeds.is_empty() => {
                let waiting = "`feeds` changed: the show started without feeds";
                warn!("{}: {waiting}, so they run after a restart", path.display());
                self.told.note(path, waiting);
            }
            None => {}
        }
    }

    /// Her avatar's file (or one beside it) or a clip's file was saved again: she is put on
    /// stage again from them, or, where they cannot be, stays as she was.
    fn dress_her_again(&mut self, app: &mut App, file: &Path) {
        let scene = &app.world().resource::<ShowroomSettings>().scene;
        match PreparedMotion::prepare_again(scene) {
            Ok(motion) => {
                info!(
                    "{}: changed; the presenter is put on stage again",
                    file.display()
                );
                self.told
                    .note(file, "changed: the presenter put on stage again");
                app.world_mut().insert_resource(Redress(motion));
            }
            Err(e) => {
                let why = format!("{}: {e}", file.display());
                self.told
                    .refused(file, &why, "the presenter stays as she was");
            }
        }
    }
}

/// Whether two scenes' presenters are the same avatar with the same motion: the same but
/// for where she stands (a move is taken without dressing her again).
fn dressed_alike(running: &Option<PresenterSpec>, edited: &Option<PresenterSpec>) -> bool {
    let unplaced = |spec: &Option<PresenterSpec>| {
        spec.clone().map(|mut spec| {
            spec.transform = Default::default();
            spec
        })
    };
    unplaced(running) == unplaced(edited)
}

/// A camera or set piece the running show names that `scene` lacks: a camera in a shot
/// of its rundown (the one on air or the one reloaded for the next segment), as its
/// default camera, or as a program's own framing; a piece as a product's `prop`. Such a
/// scene would put that shot on another camera, or leave the product unframed,
/// unannounced, and a restart would refuse it.
fn named_but_gone(
    scene: &LoadedScene,
    settings: &ShowroomSettings,
    rundown: Option<&Rundown>,
) -> Option<String> {
    let set = scene.description.names();
    let plans = rundown.into_iter().flat_map(|r| r.director.plans());
    if let Some(p) = plans
        .filter_map(|plan| plan.validate(Some(&set)).err())
        .next()
    {
        return Some(format!("the show's {}: {}", p.field, p.reason));
    }
    let framings = (settings.views.iter()).flat_map(|(view, _)| view.cameras.values());
    let named = settings.camera.iter().chain(framings);
    let gone = named.into_iter().find(|name| !set.cameras.contains(name))?;
    Some(format!(
        "the show names camera `{gone}`, which this scene lacks (it has: {})",
        set.cameras.join(", ")
    ))
}
