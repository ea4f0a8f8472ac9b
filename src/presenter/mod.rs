//! The virtual presenter on stage: an avatar playing its idle clip through Bevy's animation
//! graph, with procedural life on top (breathing, small head movements) and its head and
//! mouth moving with the voice, on the same media-clock schedule the mixer plays from.
//!
//! Avatars without mouth shapes (like the shipped robot) get the jaw/head fallback: the head
//! nods with the mouth's openness. BVH clips are retargeted onto the avatar and join its
//! own clips in the graph (see [`motion`]).

mod beats;
mod face;
mod gaze;
mod hands;
mod live;
mod motion;
mod mouth;
mod springs;
mod toon;
mod vrm;

pub use gaze::{Gaze, Look};
pub use live::{LiveCapture, LiveStatus};
pub use motion::{MotionError, PreparedMotion};

use crate::mocap::humanoid::HumanBone;
use crate::scene::{
    GltfFiles, MissingScenes, ShowroomEntity, ShowroomSettings, bevy_asset_path, loadable,
    no_such_scene, transform,
};
use crate::stage::{GestureRequests, MediaTime, SpeechTimeline};
use crate::voice::Viseme;
use bevy::{
    animation::{AnimatedBy, AnimationTargetId},
    app::AnimationSystems,
    gltf::Gltf,
    prelude::*,
    transform::TransformSystems,
    world_serialization::{WorldAssetRoot, WorldInstanceReady},
};
use mouth::{Blink, FaceRig, VrmBinds, VrmOverrides};
use std::collections::HashMap;
use std::time::Duration;

/// Head nod at full mouth openness, in degrees.
const NOD_DEGREES: f32 = 9.0;
/// Mouth smoothing: how fast it opens and closes (no flicker), and how fast it shuts for
/// p, b and m, which are crisp in real speech.
const OPEN_MS: f32 = 40.0;
const CLOSE_MS: f32 = 80.0;
const SHUT_MS: f32 = 15.0;
/// Coarticulation: each moment's shape is the blend of the sounds within this many
/// seconds either side.
const COARTICULATION_S: f32 = 0.06;
/// The mouth is shaped for the sound this far ahead of the frame's time: the mouth moves
/// before the voice in natural speech, and the smoothing above would otherwise trail it.
const MOUTH_LEAD_S: f64 = 0.075;
/// How far ordinary speech opens the mouth (of each shape's full weight); louder speech
/// opens more, quieter less, within the bounds below.
const SPEECH_OPENING: f32 = 0.62;
const LOUDNESS_SCALE: (f32, f32) = (0.7, 1.35);
/// The RMS of a levelled line's voice at ordinary loudness (lines are levelled to the
/// show's loudness target before they play).
const ORDINARY_RMS: f32 = 0.12;
/// Jaw opening at full mouth openness, for rigs with a jaw bone and no mouth shapes.
const JAW_DEGREES: f32 = 16.0;
/// Breaths per minute at rest, and how far the chest moves.
const BREATHS_PER_MINUTE: f32 = 14.0;
const BREATH_DEGREES: f32 = 1.2;

pub struct PresenterPlugin;

/// The smoothed mouth openness (0–1) of the frame being rendered: what drives the face,
/// and what telemetry records.
#[derive(Resource, Default, Clone)]
pub struct Mouth {
    pub open: f32,
    /// The visemes in force, blended with their neighbours and scaled by how loud the
    /// voice is (unsmoothed): what the face's shapes aim for.
    pub visemes: Vec<(Viseme, f32)>,
    /// Smoothing factors for this frame (opening, closing).
    pub open_rate: f32,
    pub close_rate: f32,
    /// The strongest mouth-shape weight set on the face this frame (0 without shapes).
    pub shapes: f32,
}

/// The emotion on the host's face (from the line being said: `[happy] …`), eased in and
/// out; `shown` is the strongest emotion weight actually set on the face (telemetry).
#[derive(Resource, Default, Clone, Copy)]
pub struct Mood {
    pub emotion: Option<crate::speech::Emotion>,
    pub weight: f32,
    pub shown: f32,
}

/// How strongly a cued emotion shows, and how fast it comes on and goes.
const EMOTION_WEIGHT: f32 = 0.8;
const EMOTION_IN_MS: f32 = 250.0;
const EMOTION_OUT_MS: f32 = 600.0;

/// How closed the eyes are on the face this frame (0 without a blink shape), as read back
/// from its morph weights: what telemetry records.
#[derive(Resource, Default, Clone, Copy)]
pub struct Eyes {
    pub closed: f32,
}

/// A bone we move on top of the animation. `base` is the animated (or rest) rotation,
/// `written` what we set last, so an unanimated bone does not accumulate our motion.
#[derive(Component)]
struct Procedural {
    kind: BoneKind,
    base: Quat,
    written: Quat,
}

#[derive(Clone, Copy, PartialEq)]
enum BoneKind {
    Head,
    Jaw,
    Chest,
    /// Arms (`true` on her left): the talking body's beats.
    UpperArm(bool),
    LowerArm(bool),
    /// A finger joint (`left`: of her left hand): the turn that curls it, kept while the
    /// animation leaves it at rest, loosened as the talking body opens the hand.
    Finger {
        curl: Quat,
        rest: Quat,
        left: bool,
    },
}

impl Plugin for PresenterPlugin {
    fn build(&self, app: &mut App) {
        toon::add(app);
        app.init_resource::<MediaTime>()
            .init_resource::<SpeechTimeline>()
            .init_resource::<Mouth>()
            .init_resource::<Eyes>()
            .init_resource::<PresenterAsset>()
            .init_resource::<FaceRig>()
            .init_resource::<VrmBinds>()
            .init_resource::<VrmOverrides>()
            .init_resource::<Mood>()
            .init_resource::<Blink>()
            .init_resource::<Performance>()
            .init_resource::<PreparedMotion>()
            .init_resource::<LiveStatus>()
            .init_resource::<GestureRequests>()
            .init_resource::<Gaze>()
            .init_resource::<springs::SpringBones>()
            .add_systems(Startup, load_presenter)
            .add_systems(
                Update,
                (
                    dress_her_again.run_if(resource_exists::<Redress>),
                    wait_for_her_file.run_if(resource_exists::<AvatarFile>),
                    spawn_presenter.run_if(her_file_is_in),
                    place_her_as_the_scene_says.run_if(resource_changed::<ShowroomSettings>),
                    mouth::find_mouth_morphs,
                    follow_the_voice,
                    direct_gestures,
                    mouth::blink,
                    live::live_face,
                    mouth::drive_mouth_morphs,
                    mouth::measure_mouth_morphs,
                    gaze::choose_gaze,
                )
                    .chain(),
            )
            .add_systems(
                PostUpdate,
                (live::apply_live_capture, move_bones_over_animation)
                    .chain()
                    .after(AnimationSystems)
                    .before(TransformSystems::Propagate),
            )
            .add_systems(
                PostUpdate,
                (gaze::turn_eyes, springs::swing_spring_bones, measure_pose)
                    .chain()
                    .after(TransformSystems::Propagate),
            );
    }
}

/// Her avatar's file while it loads: [`spawn_presenter`] puts her on stage once it is in
/// with its dependencies. At start her motion is in place; when she is dressed again
/// ([`Redress`]) it comes with the file, and she is taken off only when the file is in,
/// so she is never missing from the picture while it loads.
#[derive(Resource)]
struct AvatarFile {
    gltf: Handle<Gltf>,
    motion: Option<PreparedMotion>,
}

/// Puts the presenter on stage again from her files, with her motion prepared (and her
/// file checked) by whoever saw them change: her avatar re-exported, a clip re-recorded,
/// or a scene edit that changed her avatar, its clips or bones (runtime's scene watch).
#[derive(Resource)]
pub struct Redress(pub PreparedMotion);

fn load_presenter(
    mut commands: Commands,
    settings: Res<ShowroomSettings>,
    server: Res<AssetServer>,
    mut files: ResMut<GltfFiles>,
    mut asset: ResMut<PresenterAsset>,
) {
    if let Some(gltf) = ask_for_her_file(&settings, &server, &mut files, &mut asset) {
        commands.insert_resource(AvatarFile { gltf, motion: None });
    }
}

/// Her avatar's file at its newest version: a new one if it was saved since it last
/// loaded ([`GltfFiles::load_held`]).
fn ask_for_her_file(
    settings: &ShowroomSettings,
    server: &AssetServer,
    files: &mut GltfFiles,
    asset: &mut PresenterAsset,
) -> Option<Handle<Gltf>> {
    let spec = settings.scene.description.presenter.as_ref()?;
    let file = settings.scene.asset_path(&spec.asset);
    let gltf = files.load_held(server, &bevy_asset_path(&loadable(&file)));
    asset.0 = Some((
        format!("presenter `{}` ({})", spec.name, file.display()),
        gltf.clone().untyped(),
    ));
    Some(gltf)
}

/// Takes up a [`Redress`]: her file asked for again, to be put on stage with the new
/// motion once it is in. A scene without her takes her off at once.
fn dress_her_again(
    mut commands: Commands,
    mut redress: ResMut<Redress>,
    settings: Res<ShowroomSettings>,
    server: Res<AssetServer>,
    mut files: ResMut<GltfFiles>,
    mut asset: ResMut<PresenterAsset>,
    her: Query<Entity, With<HostAvatar>>,
) {
    let motion = std::mem::take(&mut redress.0);
    commands.remove_resource::<Redress>();
    match ask_for_her_file(&settings, &server, &mut files, &mut asset) {
        Some(gltf) => commands.insert_resource(AvatarFile {
            gltf,
            motion: Some(motion),
        }),
        None => {
            asset.0 = None;
            take_her_off(&mut commands, &her);
            commands.insert_resource(motion);
        }
    }
}

/// Her file loaded again that could not be loaded leaves her on stage as she was (at
/// start, start-up stops with its error).
fn wait_for_her_file(mut commands: Commands, file: Res<AvatarFile>, server: Res<AssetServer>) {
    if file.motion.is_some()
        && let Some(error) = crate::scene::load_error(&server, &file.gltf)
    {
        warn!("presenter: her avatar's file did not load ({error}); she stays as she was");
        commands.remove_resource::<AvatarFile>();
    }
}

/// Whether her file is in with its dependencies: then she is put on stage from it.
fn her_file_is_in(file: Option<Res<AvatarFile>>, server: Res<AssetServer>) -> bool {
    file.is_some_and(|f| server.is_loaded_with_dependencies(&f.gltf))
}

/// Takes her off stage, with what was found on her when she came on (her bones, face and
/// springs), so that the next avatar starts from nothing of hers.
fn take_her_off(commands: &mut Commands, her: &Query<Entity, With<HostAvatar>>) {
    for avatar in her {
        commands.entity(avatar).despawn();
    }
    commands.remove_resource::<HumanoidBones>();
    commands.remove_resource::<gaze::GazeRig>();
    commands.insert_resource(FaceRig::default());
    commands.insert_resource(VrmBinds::default());
    commands.insert_resource(VrmOverrides::default());
    commands.insert_resource(springs::SpringBones::default());
    commands.insert_resource(Performance::default());
}

#[allow(clippy::too_many_arguments)]
fn spawn_presenter(
    mut commands: Commands,
    settings: Res<ShowroomSettings>,
    mut avatar_file: ResMut<AvatarFile>,
    gltfs: Res<Assets<Gltf>>,
    mut graphs: ResMut<Assets<AnimationGraph>>,
    mut animation_clips: ResMut<Assets<AnimationClip>>,
    prepared: Res<PreparedMotion>,
    mut missing: ResMut<MissingScenes>,
    her: Query<Entity, With<HostAvatar>>,
) {
    let Some(gltf) = gltfs.get(&avatar_file.gltf) else {
        return;
    };
    commands.remove_resource::<AvatarFile>();
    let Some(spec) = settings.scene.description.presenter.clone() else {
        return;
    };
    let redressed = avatar_file.motion.take();
    if redressed.is_some() {
        take_her_off(&mut commands, &her);
    }
    let motion = redressed.as_ref().unwrap_or(&prepared);
    let Some(scene) = gltf.scenes.get(spec.scene).cloned() else {
        let name = format!("presenter {}", spec.name);
        missing
            .0
            .push(no_such_scene(&name, &spec.asset, gltf, spec.scene));
        return;
    };
    let file = settings.scene.asset_path(&spec.asset);
    let doc = crate::mocap::skeleton::document(&file).ok();
    if let Some(doc) = &doc {
        read_expressions(&mut commands, doc, &spec.name);
    }
    let clips = her_clips(
        gltf,
        &file,
        motion,
        &spec,
        &mut graphs,
        &mut animation_clips,
    );
    let looks = doc.as_ref().map(Looks::of).unwrap_or_default();
    let avatar = commands
        .spawn((
            Name::new(spec.name.clone()),
            ShowroomEntity,
            HostAvatar,
            clips,
            looks,
            WorldAssetRoot(scene),
            transform(&spec.transform),
        ))
        .observe(start_when_ready)
        .observe(toon::dress_her_in_toon)
        .id();
    if let Some(doc) = &doc {
        commands.insert_resource(springs::SpringBones::of(doc, avatar));
    }
    if let Some(motion) = redressed {
        info!("presenter `{}`: on stage again from her files", spec.name);
        commands.insert_resource(motion);
    }
}

/// Her VRM expressions' bindings and overrides, for the face to play.
fn read_expressions(commands: &mut Commands, doc: &serde_json::Value, name: &str) {
    let binds = vrm::expression_binds(doc);
    if !binds.is_empty() {
        info!(
            "presenter `{name}`: {} VRM expression bindings",
            binds.len()
        );
    }
    commands.insert_resource(VrmBinds(binds));
    commands.insert_resource(VrmOverrides(vrm::expression_overrides(doc)));
}

/// Her animation graph: every clip of her file and every mocap clip retargeted to her
/// (one graph, so lines can cue any as a gesture), and her idle: the one the scene
/// names, its arms let down where it holds them out, or else a relaxed standing pose
/// rather than the T-pose avatars are exported in.
fn her_clips(
    gltf: &Gltf,
    file: &std::path::Path,
    motion: &PreparedMotion,
    spec: &crate::scene::PresenterSpec,
    graphs: &mut Assets<AnimationGraph>,
    animation_clips: &mut Assets<AnimationClip>,
) -> Clips {
    let names = crate::mocap::skeleton::animation_names(file).unwrap_or_default();
    let (mut graph, nodes) = AnimationGraph::from_clips(gltf.animations.iter().cloned());
    let mut nodes: HashMap<String, AnimationNodeIndex> = names.iter().cloned().zip(nodes).collect();
    if let Some(rig) = &motion.rig {
        for (name, baked) in &motion.clips {
            let clip = animation_clips.add(motion::animation_clip(rig, baked));
            let node = graph.add_clip(clip, 1.0, graph.root);
            if nodes.insert(name.clone(), node).is_some() {
                warn!(
                    "presenter `{}`: mocap clip `{name}` hides the avatar's own",
                    spec.name
                );
            }
        }
    }
    let idle = spec.idle.as_deref().and_then(|name| {
        let node = nodes.get(name).copied();
        if node.is_none() {
            warn!(
                "presenter `{}`: no animation called `{name}` (it has {names:?})",
                spec.name
            );
        }
        node
    });
    if let Some(node) = idle {
        rest_the_idle_arms(&mut graph, node, animation_clips, motion, &spec.name);
    }
    let idle = idle.or_else(|| {
        let standing = relaxed_clip(motion)?;
        info!(
            "presenter `{}`: no idle clip; she stands relaxed (arms down)",
            spec.name
        );
        Some(graph.add_clip(animation_clips.add(standing), 1.0, graph.root))
    });
    Clips {
        graph: graphs.add(graph),
        nodes,
        idle,
        crossfade: Duration::from_secs_f32(spec.crossfade),
        idle_speed: spec.speed,
    }
}

/// A scene edit that moves, turns or scales the presenter puts her there in the running
/// show, her spring chains carried along; the rest of her (the avatar's file, clips,
/// expressions) is read at start.
fn place_her_as_the_scene_says(
    settings: Res<ShowroomSettings>,
    mut her: Query<&mut Transform, With<HostAvatar>>,
    mut springs: ResMut<springs::SpringBones>,
) {
    let Some(spec) = &settings.scene.description.presenter else {
        return;
    };
    let wanted = transform(&spec.transform);
    for mut at in &mut her {
        if *at != wanted {
            springs.carry(&(wanted.compute_affine() * at.compute_affine().inverse()));
            *at = wanted;
        }
    }
}

/// An idle clip of the file's own that leaves the arms alone (the robot's `Idle` moves
/// only its head and legs) is swapped, at `node`, for a copy with the relaxed pose's arms
/// ([`motion::rest_the_arms_it_leaves`]); the file's clip stays as loaded, for gestures.
fn rest_the_idle_arms(
    graph: &mut AnimationGraph,
    node: AnimationNodeIndex,
    clips: &mut Assets<AnimationClip>,
    motion: &PreparedMotion,
    name: &str,
) {
    let Some(AnimationNodeType::Clip(own)) = graph.get(node).map(|n| n.node_type.clone()) else {
        return;
    };
    let (Some(mut idle), Some(relaxed)) = (clips.get(&own).cloned(), relaxed_clip(motion)) else {
        return;
    };
    if motion::rest_the_arms_it_leaves(&mut idle, &relaxed) {
        info!("presenter `{name}`: the idle clip leaves the arms alone; they rest down");
        if let Some(n) = graph.get_mut(node) {
            n.node_type = AnimationNodeType::Clip(clips.add(idle));
        }
    }
}

/// The relaxed standing pose (`mocap::retarget::relaxed_pose`) as a one-frame clip of her
/// rig: her idle where she has none, her idle's arms where it leaves them alone.
fn relaxed_clip(motion: &PreparedMotion) -> Option<AnimationClip> {
    let rig = motion.rig.as_ref()?;
    let standing = crate::mocap::retarget::relaxed_pose(rig)?;
    Some(motion::animation_clip(rig, &standing))
}

/// The root of the host's avatar: everything below it moves every frame, so a held
/// shot draws it again each frame and the set around it once (`camera::held`).
#[derive(Component)]
pub struct HostAvatar;

/// Whether `entity` is the presenter or part of her (a bone, a mesh of her scene).
pub fn is_hers(
    entity: Entity,
    hosts: &Query<(), With<HostAvatar>>,
    parents: &Query<&ChildOf>,
) -> bool {
    hosts.contains(entity) || parents.iter_ancestors(entity).any(|a| hosts.contains(a))
}

/// How the avatar's file says its eyes move: its eye bones by node name (left first) and
/// their range maps, from a VRM extension; otherwise found by name when it spawns.
#[derive(Component, Clone, Default)]
struct Looks {
    eyes: Option<(String, String)>,
    look_at: gaze::LookAt,
    /// The jaw bone's node name, from a VRM humanoid map.
    jaw: Option<String>,
}

impl Looks {
    fn of(doc: &serde_json::Value) -> Self {
        let look_at = gaze::vrm_look_at(doc);
        let name = |i| crate::mocap::skeleton::node_name(doc, i);
        Self {
            eyes: look_at.eyes.map(|(l, r)| (name(l), name(r))),
            look_at,
            jaw: crate::mocap::retarget::vrm_bone_node(doc, "jaw").map(name),
        }
    }
}

/// The avatar's file as it loads, named for messages: start-up waits for it and stops
/// with its error when it fails (a show without its host must not go on air).
#[derive(Resource, Default)]
pub struct PresenterAsset(pub Option<(String, UntypedHandle)>);

/// The avatar's clips in one animation graph, by name.
#[derive(Component, Clone)]
struct Clips {
    graph: Handle<AnimationGraph>,
    nodes: HashMap<String, AnimationNodeIndex>,
    idle: Option<AnimationNodeIndex>,
    crossfade: Duration,
    idle_speed: f32,
}

/// On the avatar's animation player: its clips and the gesture in progress.
#[derive(Component)]
struct Performer {
    clips: Clips,
    gesture: Option<(String, AnimationNodeIndex)>,
    last_line: Option<u64>,
}

/// What the host is doing with its body, for telemetry and status.
#[derive(Resource, Default, Clone)]
pub struct Performance {
    pub gesture: Option<String>,
    /// World positions of the head, hands and feet this frame (humanoid avatars).
    pub pose: Vec<(HumanBone, Vec3)>,
    /// World positions of each spring chain's tip this frame (hair, skirts).
    pub springs: Vec<Vec3>,
}

/// The avatar's humanoid bones, by entity.
#[derive(Resource, Default)]
pub struct HumanoidBones(pub Vec<(HumanBone, Entity)>);

/// Once her scene is spawned: her bones found and marked for the procedural motion (head,
/// chest, arms, fingers, jaw), her gaze rig, and her animation player started on her idle.
fn start_when_ready(
    ready: On<WorldInstanceReady>,
    mut commands: Commands,
    presenters: Query<(&Clips, &Looks)>,
    children: Query<&Children>,
    mut players: Query<&mut AnimationPlayer>,
    names: Query<(&Name, &Transform)>,
    motion: Res<PreparedMotion>,
    mut face: ResMut<FaceRig>,
) {
    let avatar = ready.entity;
    let Ok((clips, looks)) = presenters.get(avatar) else {
        return;
    };
    let mut marked = Marked::default();
    if let Some(rig) = &motion.rig {
        let bones = humanoid_entities(rig, avatar, &children, &names);
        if let Some(gaze) = gaze_rig(rig, avatar, &bones, looks, &children, &names) {
            commands.insert_resource(gaze);
        }
        marked = mark_humanoid_bones(&mut commands, &bones, &names);
        relax_the_fingers(&mut commands, rig, avatar, &children, &names);
        commands.insert_resource(HumanoidBones(bones));
        let has_player = children
            .iter_descendants(avatar)
            .any(|e| players.contains(e));
        if !has_player && (!motion.clips.is_empty() || clips.idle.is_some()) {
            // A file without animations (most VRM avatars) gets no player from the glTF
            // loader: give its root one, and name every node as the loader would have.
            attach_player(&mut commands, avatar, rig, &children, &names, clips);
        }
    }
    for child in children.iter_descendants(avatar) {
        if let Ok(mut player) = players.get_mut(child) {
            commands
                .entity(child)
                .insert(start_performing(clips, &mut player));
        }
    }
    let jaw = find_jaw(avatar, looks, &children, &names);
    marked = mark_named_bones(&mut commands, avatar, jaw, marked, &children, &names);
    if !marked.head {
        warn!("presenter has no head bone: it will not nod while speaking");
    }
    face.jaw = jaw.is_some();
}

/// Which of the bones the procedural motion needs once have been found.
#[derive(Default, Clone, Copy)]
struct Marked {
    head: bool,
    chest: bool,
}

/// Her humanoid bones' entities, by the rig's node names.
fn humanoid_entities(
    rig: &crate::mocap::retarget::Rig,
    avatar: Entity,
    children: &Query<&Children>,
    names: &Query<(&Name, &Transform)>,
) -> Vec<(HumanBone, Entity)> {
    let mut bones = Vec::new();
    for (bone, node) in &rig.humanoid {
        let name = &rig.nodes[*node].name;
        if let Some(e) = children
            .iter_descendants(avatar)
            .find(|e| names.get(*e).is_ok_and(|(n, _)| n.as_str() == name))
        {
            bones.push((*bone, e));
        }
    }
    bones
}

/// Marks the head, chest and arms among her humanoid `bones` for the procedural motion,
/// over the animation (names like VRoid's `J_Bip_C_Head` are not guessed by
/// [`mark_named_bones`]). The chest is the first of chest, upper chest and spine she has.
fn mark_humanoid_bones(
    commands: &mut Commands,
    bones: &[(HumanBone, Entity)],
    names: &Query<(&Name, &Transform)>,
) -> Marked {
    let mut marked = Marked::default();
    let chest_bone = [HumanBone::Chest, HumanBone::UpperChest, HumanBone::Spine]
        .into_iter()
        .find(|b| bones.iter().any(|(x, _)| x == b));
    for (bone, entity) in bones {
        let kind = match bone {
            HumanBone::Head => {
                marked.head = true;
                BoneKind::Head
            }
            b if Some(*b) == chest_bone => {
                marked.chest = true;
                BoneKind::Chest
            }
            HumanBone::LeftUpperArm => BoneKind::UpperArm(true),
            HumanBone::RightUpperArm => BoneKind::UpperArm(false),
            HumanBone::LeftLowerArm => BoneKind::LowerArm(true),
            HumanBone::RightLowerArm => BoneKind::LowerArm(false),
            _ => continue,
        };
        if let Ok((_, t)) = names.get(*entity) {
            commands.entity(*entity).insert(Procedural {
                kind,
                base: t.rotation,
                written: t.rotation,
            });
        }
    }
    marked
}

/// Marks her `jaw`, and by their usual names a head and chest not `marked` already (an
/// avatar without a humanoid map).
fn mark_named_bones(
    commands: &mut Commands,
    avatar: Entity,
    jaw: Option<Entity>,
    mut marked: Marked,
    children: &Query<&Children>,
    names: &Query<(&Name, &Transform)>,
) -> Marked {
    for child in children.iter_descendants(avatar) {
        let Ok((name, t)) = names.get(child) else {
            continue;
        };
        let kind = match crate::mocap::humanoid::normalise(name.as_str()).as_str() {
            _ if Some(child) == jaw => BoneKind::Jaw,
            "head" if !marked.head => {
                marked.head = true;
                BoneKind::Head
            }
            "chest" | "upperchest" | "torso" | "torso1" | "spine2" if !marked.chest => {
                marked.chest = true;
                BoneKind::Chest
            }
            _ => continue,
        };
        commands.entity(child).insert(Procedural {
            kind,
            base: t.rotation,
            written: t.rotation,
        });
    }
    marked
}

/// Gives each of her finger joints its curl ([`hands::finger_curls`]), over the animation.
fn relax_the_fingers(
    commands: &mut Commands,
    rig: &crate::mocap::retarget::Rig,
    avatar: Entity,
    children: &Query<&Children>,
    names: &Query<(&Name, &Transform)>,
) {
    let curls = hands::finger_curls(rig);
    let mut relaxed = 0;
    for entity in children.iter_descendants(avatar) {
        let Ok((name, t)) = names.get(entity) else {
            continue;
        };
        let Some(joint) = curls
            .iter()
            .find(|c| rig.nodes[c.node].name == name.as_str())
        else {
            continue;
        };
        let kind = BoneKind::Finger {
            curl: joint.curl,
            rest: t.rotation,
            left: joint.left,
        };
        commands.entity(entity).insert(Procedural {
            kind,
            base: t.rotation,
            written: t.rotation,
        });
        relaxed += 1;
    }
    if relaxed > 0 {
        debug!("presenter: {relaxed} finger joints relaxed");
    }
}

/// Her jaw bone: the one her VRM humanoid map names, else the first whose name says jaw
/// (`Jaw`, `J_Adj_C_Jaw`, Daz's `lowerJaw`, Character Creator's `CC_Base_JawRoot`), not
/// an upper jaw or a bone's end marker (`Jaw_end`).
fn find_jaw(
    avatar: Entity,
    looks: &Looks,
    children: &Query<&Children>,
    names: &Query<(&Name, &Transform)>,
) -> Option<Entity> {
    let name_of = |e: &Entity| names.get(*e).ok().map(|(n, _)| n.as_str());
    let mapped = looks
        .jaw
        .as_deref()
        .and_then(|jaw| (children.iter_descendants(avatar)).find(|e| name_of(e) == Some(jaw)));
    mapped.or_else(|| {
        (children.iter_descendants(avatar)).find(|e| name_of(e).is_some_and(is_jaw_name))
    })
}

/// Whether a bone's name says it is the (lower) jaw.
fn is_jaw_name(name: &str) -> bool {
    let n = crate::mocap::humanoid::normalise(name);
    let ends = ["end", "nub", "tip", "top", "null", "target"];
    n.contains("jaw") && !n.contains("upper") && !ends.iter().any(|e| n.ends_with(e))
}

/// The head and eyes gaze moves: eye bones the file names, or found by name under the
/// head; with neither, the head alone follows the gaze.
fn gaze_rig(
    rig: &crate::mocap::retarget::Rig,
    avatar: Entity,
    bones: &[(HumanBone, Entity)],
    looks: &Looks,
    children: &Query<&Children>,
    names: &Query<(&Name, &Transform)>,
) -> Option<gaze::GazeRig> {
    let head_node = *rig.humanoid.get(&HumanBone::Head)?;
    let head = bones.iter().find(|(b, _)| *b == HumanBone::Head)?.1;
    let node_of = |name: &str| rig.nodes.iter().position(|n| n.name == name);
    let mut eyes = Vec::new();
    for e in children.iter_descendants(head) {
        let Ok((name, _)) = names.get(e) else {
            continue;
        };
        let side = match &looks.eyes {
            _ if looks.look_at.expression => None,
            Some((l, _)) if l == name.as_str() => Some(true),
            Some((_, r)) if r == name.as_str() => Some(false),
            Some(_) => None,
            None => gaze::eye_side(name.as_str()),
        };
        if let (Some(left), Some(node)) = (side, node_of(name.as_str()))
            && !eyes.iter().any(|(_, _, l)| *l == left)
        {
            eyes.push((e, node, left));
        }
    }
    info!(
        "presenter: {} eye bones{}; the head follows her gaze",
        eyes.len(),
        if looks.look_at.expression {
            ", eyes by look expressions"
        } else {
            ""
        }
    );
    Some(gaze::GazeRig::new(
        rig,
        avatar,
        (head, head_node),
        &eyes,
        &looks.look_at,
    ))
}

/// Gesture cues: when a line that carries one starts on the media clock, the host
/// crossfades into that clip, and back into idle when it is over.
fn direct_gestures(
    now: Res<MediaTime>,
    timeline: Res<SpeechTimeline>,
    mut requests: ResMut<GestureRequests>,
    mut performance: ResMut<Performance>,
    mut performers: Query<(
        &mut AnimationPlayer,
        &mut AnimationTransitions,
        &mut Performer,
    )>,
) {
    let current = timeline.0.iter().find(|l| l.offset_at(now.0).is_some());
    let requested = std::mem::take(&mut requests.0);
    for (mut player, mut transitions, mut performer) in &mut performers {
        let mut cued = requested.last().cloned();
        if let Some(line) = current
            && performer.last_line != Some(line.start)
        {
            performer.last_line = Some(line.start);
            cued = line.line.gesture.clone().or(cued);
        }
        {
            if let Some(gesture) = &cued {
                match performer.clips.nodes.get(&gesture.clip) {
                    Some(&node) => {
                        transitions
                            .play(&mut player, node, performer.clips.crossfade)
                            .set_speed(gesture.speed);
                        performer.gesture = Some((gesture.clip.clone(), node));
                    }
                    None => warn!("gesture `{}`: the avatar has no such clip", gesture.clip),
                }
            }
        }
        if let Some((_, node)) = &performer.gesture
            && player.animation(*node).is_none_or(|a| a.is_finished())
        {
            performer.gesture = None;
            if let Some(idle) = performer.clips.idle {
                transitions
                    .play(&mut player, idle, performer.clips.crossfade)
                    .set_speed(performer.clips.idle_speed)
                    .repeat();
            }
        }
        performance.gesture = performer.gesture.as_ref().map(|(name, _)| name.clone());
    }
}

/// Evaluates the line playing at this frame's media time and smooths the mouth.
fn follow_the_voice(
    now: Res<MediaTime>,
    mut timeline: ResMut<SpeechTimeline>,
    mut mouth: ResMut<Mouth>,
    mut mood: ResMut<Mood>,
    mut last: Local<Option<f64>>,
) {
    let t = now.0;
    let dt = last.map_or(0.0, |l| (t - l).max(0.0)) as f32;
    *last = Some(t);
    crate::speech::forget_said(&mut timeline.0, t);
    // The line being said at the frame's time (plus the lead), and where in it.
    let ahead = t + MOUTH_LEAD_S;
    let speaking = timeline
        .0
        .iter()
        .find_map(|l| l.offset_at(ahead).map(|offset| (l, offset)));
    let (visemes, shut) = match speaking {
        Some((line, offset)) => shape_of_speech(&line.line, offset),
        None => (Vec::new(), false),
    };
    let target: f32 = visemes.iter().map(|(v, w)| v.openness() * w).sum();
    mouth.visemes = visemes;
    let rate = |ms: f32| {
        if dt <= 0.0 {
            1.0
        } else {
            1.0 - (-dt * 1000.0 / ms).exp()
        }
    };
    mouth.open_rate = rate(OPEN_MS);
    mouth.close_rate = rate(if shut { SHUT_MS } else { CLOSE_MS });
    let k = if target > mouth.open {
        mouth.open_rate
    } else {
        mouth.close_rate
    };
    mouth.open += (target - mouth.open) * k;
    let feeling = timeline
        .0
        .iter()
        .find(|l| l.offset_at(t).is_some())
        .and_then(|l| l.line.emotion);
    ease_mood(
        &mut mood,
        feeling,
        rate(EMOTION_IN_MS),
        rate(EMOTION_OUT_MS),
    );
}

/// Moves the face towards `feeling`: a new emotion comes on once the last one has gone.
fn ease_mood(mood: &mut Mood, feeling: Option<crate::speech::Emotion>, rise: f32, fall: f32) {
    if mood.emotion != feeling && mood.weight < 0.02 {
        mood.emotion = feeling;
    }
    let target = if mood.emotion.is_some() && mood.emotion == feeling {
        EMOTION_WEIGHT
    } else {
        0.0
    };
    let k = if target > mood.weight { rise } else { fall };
    mood.weight += (target - mood.weight) * k;
}

/// What the mouth aims for `offset` seconds into `line`: its visemes blended with their
/// neighbours, scaled by the voice's loudness there; and whether it is shutting for p, b
/// or m (then only the closure counts, and it closes fast).
fn shape_of_speech(line: &crate::speech::Line, offset: f32) -> (Vec<(Viseme, f32)>, bool) {
    if line
        .visemes
        .at(offset)
        .is_some_and(|k| k.viseme == Viseme::PP)
    {
        return (vec![(Viseme::PP, 1.0)], true);
    }
    let gain = SPEECH_OPENING * loudness_scale(&line.samples, offset);
    let visemes = line
        .visemes
        .blend_at(offset, COARTICULATION_S)
        .into_iter()
        .map(|(v, w)| (v, w * gain))
        .collect();
    (visemes, false)
}

/// How much louder than ordinary the voice is around `offset` (40 ms of the line's
/// samples), as a scale for the mouth's opening.
fn loudness_scale(samples: &[f32], offset: f32) -> f32 {
    let rate = crate::media::SAMPLE_RATE as f32;
    let centre = (offset * rate) as usize;
    let half = (0.02 * rate) as usize;
    let window = &samples
        [centre.saturating_sub(half).min(samples.len())..(centre + half).min(samples.len())];
    if window.is_empty() {
        return LOUDNESS_SCALE.0;
    }
    let rms = (window.iter().map(|s| s * s).sum::<f32>() / window.len() as f32).sqrt();
    (rms / ORDINARY_RMS)
        .sqrt()
        .clamp(LOUDNESS_SCALE.0, LOUDNESS_SCALE.1)
}

/// What the frame's speech and gaze ask of the bones moved over the animation.
struct BodyCues {
    /// Forearm lifts (left, right), degrees: the talking body's beats.
    arms: (f32, f32),
    /// How far each hand (left, right) opens from its relaxed curl, 0–1.
    hands: (f32, f32),
    /// Where the body faces (flat), and the head's turn after the gaze (yaw, pitch).
    forward: Vec3,
    head: Vec2,
}

impl BodyCues {
    fn of(now: f64, timeline: &SpeechTimeline, gaze: &Gaze, performance: &Performance) -> Self {
        let (arms, hands) = match timeline
            .0
            .iter()
            .find_map(|l| l.offset_at(now).map(|o| (l, o)))
        {
            // A cued gesture clip has the arms; beats stay out of its way.
            Some((line, offset)) if performance.gesture.is_none() => {
                let length = line.line.samples.len() as f32 / crate::media::SAMPLE_RATE as f32;
                let stresses = &line.line.stresses;
                (
                    beats::arms_at(line.start, offset, length, stresses),
                    beats::hands_at(line.start, offset, length, stresses),
                )
            }
            _ => ((0.0, 0.0), (0.0, 0.0)),
        };
        Self {
            arms,
            hands,
            forward: gaze.body_forward,
            head: gaze.head,
        }
    }

    /// Her left, flat on the floor: what a nod, the jaw and a look up or down turn about.
    /// `None` where her facing is unknown (an avatar without a humanoid head).
    fn left(&self) -> Option<Vec3> {
        Vec3::Y.cross(self.forward).try_normalize()
    }

    /// A turn tipping what faces forward down by `degrees` (negative: up), as a local
    /// rotation for a bone whose world rotation is `world`. Taken about her left in the
    /// world, so it tips the same way whatever way the file faces (glTF +Z, VRM 0.x −Z)
    /// and however its bones' own axes lie; where her facing is unknown, about the bone's
    /// own X axis, which tips a +Z-facing bone at rest down.
    fn tip(&self, world: Quat, degrees: f32) -> Quat {
        match self.left() {
            Some(left) => Self::about(world, left, degrees),
            None => Quat::from_rotation_x(degrees.to_radians()),
        }
    }

    /// A hanging arm lifted forward by `degrees` (the talking body's beats).
    fn lift(&self, world: Quat, degrees: f32) -> Quat {
        self.left()
            .map_or(Quat::IDENTITY, |left| Self::about(world, -left, degrees))
    }

    /// The head's turn: towards the gaze (yaw to her left, pitch up), nodding down by
    /// `nod` degrees, and wandering by `wander` (yaw to her left, pitch down).
    fn head_turn(&self, world: Quat, nod: f32, wander: Vec2) -> Quat {
        Self::about(world, Vec3::Y, self.head.x + wander.x)
            * self.tip(world, nod + wander.y - self.head.y)
    }

    /// A turn of `degrees` about the world axis `axis`, as a local rotation for a bone
    /// whose world rotation is `world` (applied after its base pose).
    fn about(world: Quat, axis: Vec3, degrees: f32) -> Quat {
        match axis.try_normalize() {
            Some(axis) if degrees != 0.0 => {
                Quat::from_axis_angle(world.inverse() * axis, degrees.to_radians())
            }
            _ => Quat::IDENTITY,
        }
    }
}

fn move_bones_over_animation(
    now: Res<MediaTime>,
    mouth: Res<Mouth>,
    rig: Res<FaceRig>,
    timeline: Res<SpeechTimeline>,
    gaze: Res<Gaze>,
    performance: Res<Performance>,
    mut bones: ParamSet<(
        Query<(Entity, &mut Procedural, &mut Transform)>,
        Query<(&Transform, Option<&ChildOf>)>,
    )>,
) {
    // Phases in f64: after a week of media an f32 time steps in 62 ms and the idle motion
    // would stutter; `wave` keeps each sine's argument exact.
    let t = now.0;
    let wave = |radians_per_second: f64| (t * radians_per_second).sin() as f32;
    let cues = BodyCues::of(t, &timeline, &gaze, &performance);
    let worlds = posed_by_the_animation(&mut bones);
    for (entity, mut bone, mut transform) in &mut bones.p0() {
        let world = worlds.get(&entity).copied().unwrap_or(Quat::IDENTITY);
        let extra = match bone.kind {
            BoneKind::Head => {
                // Nod with the voice, plus a slow, small wander so the host never freezes.
                // The whole show of speech when the face has no mouth shapes or jaw.
                let nod = mouth.open
                    * if rig.has_mouth() {
                        NOD_DEGREES / 3.0
                    } else {
                        NOD_DEGREES
                    };
                let wander = Vec2::new(wave(0.23) * 2.5, wave(0.31) * 1.5 + wave(0.73) * 0.7);
                cues.head_turn(world, nod, wander)
            }
            // A face with mouth shapes opens with them; its jaw bone stays as animated.
            BoneKind::Jaw if rig.shapes => Quat::IDENTITY,
            BoneKind::Jaw => cues.tip(world, mouth.open * JAW_DEGREES),
            BoneKind::Chest => {
                let breath =
                    wave(BREATHS_PER_MINUTE as f64 / 60.0 * std::f64::consts::TAU) * BREATH_DEGREES;
                BodyCues::about(world, cues.forward, beats::weight_shift(t))
                    * cues.tip(world, breath)
            }
            BoneKind::LowerArm(left) => {
                let lift = if left { cues.arms.0 } else { cues.arms.1 };
                cues.lift(world, lift)
            }
            BoneKind::UpperArm(left) => {
                let lift = if left { cues.arms.0 } else { cues.arms.1 };
                cues.lift(world, lift * 0.35)
            }
            // A clip that poses the fingers keeps its pose.
            BoneKind::Finger { curl, rest, left } if bone.base == rest => {
                let open = if left { cues.hands.0 } else { cues.hands.1 };
                Quat::IDENTITY.slerp(curl, 1.0 - open)
            }
            BoneKind::Finger { .. } => Quat::IDENTITY,
        };
        transform.rotation = bone.base * extra;
        bone.written = transform.rotation;
    }
}

/// Every moved bone back at its pose from the animation (a new one where the animation
/// set one this frame), and each one's world rotation in that pose. Turns about world axes
/// are taken in that frame, not last frame's picture's: with those, each frame's pose hung
/// on the one before, and the same media time gave poses a few float steps apart after
/// different numbers of frames (start-up's, however long loading took).
fn posed_by_the_animation(
    bones: &mut ParamSet<(
        Query<(Entity, &mut Procedural, &mut Transform)>,
        Query<(&Transform, Option<&ChildOf>)>,
    )>,
) -> HashMap<Entity, Quat> {
    let mut moved = Vec::new();
    for (entity, mut bone, mut transform) in &mut bones.p0() {
        if transform.rotation != bone.written {
            bone.base = transform.rotation; // the animation set a new pose this frame
        }
        transform.rotation = bone.base;
        moved.push(entity);
    }
    let transforms = bones.p1();
    let world = |entity: Entity| {
        let mut global = GlobalTransform::IDENTITY;
        let mut at = Some(entity);
        while let Some((transform, parent)) = at.and_then(|e| transforms.get(e).ok()) {
            global = GlobalTransform::from(*transform) * global;
            at = parent.map(ChildOf::parent);
        }
        global.rotation()
    };
    moved.into_iter().map(|e| (e, world(e))).collect()
}

/// Puts an animation player on each of the avatar's root nodes and tags every named node
/// below it with the target id the glTF loader would have given it (its path of names from
/// there, as the retargeted clips have it). The roots are the file's root nodes, found by
/// name: the spawned scene wraps them in an entity of its own (`Scene0`), which is not
/// part of any path.
fn attach_player(
    commands: &mut Commands,
    avatar: Entity,
    rig: &crate::mocap::retarget::Rig,
    children: &Query<&Children>,
    names: &Query<(&Name, &Transform)>,
    clips: &Clips,
) {
    let mut root_names: Vec<&str> = rig
        .nodes
        .iter()
        .filter(|n| n.parent.is_none())
        .map(|n| n.name.as_str())
        .collect();
    let mut roots = Vec::new();
    for entity in children.iter_descendants(avatar) {
        let Ok((name, _)) = names.get(entity) else {
            continue;
        };
        if let Some(i) = root_names.iter().position(|n| *n == name.as_str()) {
            root_names.swap_remove(i);
            roots.push(entity);
        }
    }
    for root in roots {
        let mut stack: Vec<(Entity, Vec<Name>)> = vec![(root, Vec::new())];
        while let Some((entity, mut path)) = stack.pop() {
            if let Ok((name, _)) = names.get(entity) {
                path.push(name.clone());
                commands
                    .entity(entity)
                    .insert((AnimationTargetId::from_names(path.iter()), AnimatedBy(root)));
            }
            for child in children.get(entity).into_iter().flatten() {
                stack.push((*child, path.clone()));
            }
        }
        let mut player = AnimationPlayer::default();
        let performing = start_performing(clips, &mut player);
        commands.entity(root).insert((player, performing));
    }
}

/// What an animation player needs to perform: the graph, the idle clip started, and the
/// gesture director's state.
fn start_performing(
    clips: &Clips,
    player: &mut AnimationPlayer,
) -> (AnimationGraphHandle, AnimationTransitions, Performer) {
    let mut transitions = AnimationTransitions::new();
    if let Some(idle) = clips.idle {
        transitions
            .play(player, idle, Duration::ZERO)
            .set_speed(clips.idle_speed)
            .repeat();
    }
    (
        AnimationGraphHandle(clips.graph.clone()),
        transitions,
        Performer {
            clips: clips.clone(),
            gesture: None,
            last_line: None,
        },
    )
}

/// Where the head, hands and feet ended up this frame, for telemetry (and the tests that
/// check the host stands on the floor).
fn measure_pose(
    bones: Option<Res<HumanoidBones>>,
    transforms: Query<&GlobalTransform>,
    mut performance: ResMut<Performance>,
) {
    let Some(bones) = bones else {
        return;
    };
    performance.pose.clear();
    for (bone, entity) in &bones.0 {
        if matches!(
            bone,
            HumanBone::Head
                | HumanBone::LeftHand
                | HumanBone::RightHand
                | HumanBone::LeftFoot
                | HumanBone::RightFoot
        ) && let Ok(t) = transforms.get(*entity)
        {
            performance.pose.push((*bone, t.translation()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::{VisemeKey, VisemeTrack};

    /// A line of a held "a" from 0.1 s to 0.6 s, a "p" to 0.7 s, at this amplitude.
    fn line(amplitude: f32) -> crate::speech::Line {
        let rate = crate::media::SAMPLE_RATE as usize;
        let samples = (0..rate)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let voiced = (0.1..0.6).contains(&t) as u8 as f32;
                voiced * amplitude * (t * 220.0 * std::f32::consts::TAU).sin()
            })
            .collect();
        let key = |time, viseme, weight| VisemeKey {
            time,
            viseme,
            weight,
        };
        let mut l = crate::speech::Line::silent(String::new(), Default::default());
        l.samples = samples;
        l.visemes = VisemeTrack {
            keys: vec![
                key(0.1, Viseme::Aa, 1.0),
                key(0.6, Viseme::PP, 1.0),
                key(0.7, Viseme::Sil, 0.0),
            ],
        };
        l
    }

    fn opening(line: &crate::speech::Line, at: f32) -> f32 {
        let (visemes, _) = shape_of_speech(line, at);
        visemes.iter().map(|(v, w)| v.openness() * w).sum()
    }

    #[test]
    fn ordinary_speech_opens_the_mouth_part_way_and_loud_speech_more() {
        // A sine of amplitude 0.17 has the RMS of ordinary levelled speech (0.12).
        let ordinary = opening(&line(0.17), 0.35);
        assert!((0.5..=0.7).contains(&ordinary), "{ordinary}");
        let loud = opening(&line(0.5), 0.35);
        assert!(loud > ordinary + 0.15 && loud <= 1.0, "{loud}");
        let quiet = opening(&line(0.03), 0.35);
        assert!(quiet < ordinary, "{quiet}");
    }

    #[test]
    fn a_closure_shuts_the_mouth_at_once() {
        let l = line(0.17);
        let (visemes, shut) = shape_of_speech(&l, 0.62);
        assert!(shut);
        assert_eq!(visemes, vec![(Viseme::PP, 1.0)]);
        assert_eq!(opening(&l, 0.62), 0.0);
        // Just before it, the "a" is already blending towards the closure.
        assert!(opening(&l, 0.57) < opening(&l, 0.35));
    }

    fn facing(forward: Vec3, head: Vec2) -> BodyCues {
        BodyCues {
            arms: (0.0, 0.0),
            hands: (0.0, 0.0),
            forward,
            head,
        }
    }

    /// A bone's rest rotation as Blender and Max leave them: its own axes far from the
    /// world's (here +Y along the bone, pointing forward, and X pointing down).
    fn rolled() -> Quat {
        Quat::from_rotation_arc(Vec3::Y, Vec3::Z) * Quat::from_rotation_y(1.1)
    }

    /// Where a bone of world rotation `world` points what faced `forward` at rest, once
    /// `local` is applied after its pose.
    fn turned(world: Quat, local: Quat, forward: Vec3) -> Vec3 {
        world * local * world.inverse() * forward
    }

    #[test]
    fn the_jaw_and_the_nod_tip_down_whichever_way_the_file_faces() {
        for forward in [Vec3::Z, Vec3::NEG_Z, Vec3::X] {
            let cues = facing(forward, Vec2::ZERO);
            for world in [
                Quat::IDENTITY,
                rolled(),
                Quat::from_rotation_y(std::f32::consts::PI),
            ] {
                let jaw = turned(world, cues.tip(world, 16.0), forward);
                assert!(jaw.y < -0.25, "{forward} {world}: the chin went to {jaw}");
                let nod = turned(world, cues.head_turn(world, 9.0, Vec2::ZERO), forward);
                assert!(nod.y < -0.1, "{forward} {world}: the face went to {nod}");
            }
        }
    }

    #[test]
    fn the_head_looks_up_at_what_is_above_and_to_her_left() {
        // Gaze asks for 10° to her left and 10° up; her left is +X facing +Z, −X facing −Z.
        for forward in [Vec3::Z, Vec3::NEG_Z] {
            let cues = facing(forward, Vec2::new(10.0, 10.0));
            let world = rolled();
            let face = turned(world, cues.head_turn(world, 0.0, Vec2::ZERO), forward);
            let left = Vec3::Y.cross(forward);
            assert!(face.y > 0.15, "{forward}: the face went to {face}");
            assert!(face.dot(left) > 0.15, "{forward}: the face went to {face}");
        }
    }

    #[test]
    fn beats_lift_the_arms_forward() {
        let cues = facing(Vec3::NEG_Z, Vec2::ZERO);
        let hanging = turned(rolled(), cues.lift(rolled(), 30.0), Vec3::NEG_Y);
        assert!(hanging.dot(Vec3::NEG_Z) > 0.4, "the arm went to {hanging}");
    }

    #[test]
    fn jaw_bones_are_known_by_their_names_in_the_usual_rigs() {
        for jaw in [
            "Jaw",
            "J_Adj_C_Jaw",
            "lowerJaw",
            "CC_Base_JawRoot",
            "DEF-jaw",
            "mixamorig:Jaw",
        ] {
            assert!(is_jaw_name(jaw), "{jaw}");
        }
        for not in [
            "upperJaw",
            "Jaw_end",
            "jawNub",
            "Head",
            "J_Bip_C_Head",
            "JawTarget",
        ] {
            assert!(!is_jaw_name(not), "{not}");
        }
    }
}
