//! On-screen graphics, drawn with Bevy UI over the on-air camera so they are in the
//! stream: the compliance label, the logo, the lower third, the product card with its
//! flash-sale price and countdown, and captions of what the host is saying.
//!
//! Sizes are fractions of the picture's shorter side, so the graphics look the same at 360p
//! and 1080p, at any render scale, and on a phone's vertical picture. Where each graphic
//! sits is the [`Layout`]: one for landscape pictures, one for portrait ones that keeps
//! clear of the platforms' own buttons and comments. The bundled font has Chinese glyphs and replaces Bevy's
//! default font, so every text (a caption in Chinese, a product name) renders without
//! tofu boxes.

mod content;

use crate::config::plan::OverlayConfig;
use crate::scene::{ActiveCamera, ComposeCamera, ViewCamera};
use crate::stage::{MediaTime, OnAirNow, ProgramFeeds, SpeechTimeline};
use bevy::ecs::query::QueryFilter;
use bevy::prelude::*;
use bevy::text::{Font, FontSize, Strikethrough};
use content::{Graphics, graphics_of};

/// The font shipped in `assets/fonts/` (WenQuanYi Micro Hei: Latin and CJK), built in so
/// the binary draws Chinese wherever it runs.
pub const CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttf");

/// The graphics settings of the show.
#[derive(Resource, Debug, Clone)]
pub struct OverlaySettings {
    pub config: OverlayConfig,
    pub shop: String,
    pub layout: Layout,
}

/// Where the graphics sit. Offsets are percentages of the picture's height or width
/// (`top`, `bottom`, `left`, `right`), widths and sizes fractions of its shorter side.
///
/// A portrait (vertical) picture is what Douyin's and TikTok's live rooms and short
/// videos show on a phone. Their apps draw over the top ~11 % (account, viewer count,
/// close button) and the bottom ~20 % (comments, the input bar, gifts, the shopping bag),
/// and short videos a button column at the right edge from 45 % down. The portrait
/// layout keeps every graphic between [`Layout::PORTRAIT_TOP`] and
/// [`Layout::PORTRAIT_BOTTOM`] and the card on the left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// Top of the label, and of the logo (side by side in landscape; the logo below the
    /// label in portrait, where a long shop name would run into it).
    corner_top: Val,
    logo_top: Val,
    /// Where the "just bought" notice and the lower third start, from the top.
    ticker_top: Val,
    title: (Val, Val),
    /// The product card: (left or right edge, top or bottom) and width.
    card: CardPlace,
    card_width: f32,
    /// The captions' distance from the bottom and their largest width (% of the picture).
    caption_bottom: Val,
    caption_width: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CardPlace {
    RightTop(f32),
    LeftBottom(f32),
}

impl Layout {
    /// The share of a portrait picture's height its platform covers at the top …
    pub const PORTRAIT_TOP: f32 = 11.0;
    /// … and at the bottom.
    pub const PORTRAIT_BOTTOM: f32 = 20.0;

    /// The layout for a picture of this size: portrait when taller than wide.
    pub fn for_size(width: u32, height: u32) -> Self {
        if height > width {
            Self::portrait()
        } else {
            Self::landscape()
        }
    }

    /// Logo and label in the top corners, the card on the right, captions at the bottom.
    pub fn landscape() -> Self {
        Self {
            corner_top: Val::VMin(2.5),
            logo_top: Val::VMin(2.5),
            ticker_top: Val::VMin(15.0),
            title: (Val::Auto, Val::VMin(17.0)),
            card: CardPlace::RightTop(18.0),
            card_width: 48.0,
            caption_bottom: Val::VMin(4.0),
            caption_width: 84.0,
        }
    }

    /// Everything between the platform's bars: logo and label under the top bar, title
    /// and notices below them, the card at the lower left above the captions, and the
    /// captions just above the comments.
    pub fn portrait() -> Self {
        let top = Self::PORTRAIT_TOP + 1.0;
        Self {
            corner_top: Val::Percent(top),
            logo_top: Val::Percent(top + 4.5),
            ticker_top: Val::Percent(top + 15.0),
            title: (Val::Percent(top + 9.5), Val::Auto),
            card: CardPlace::LeftBottom(Self::PORTRAIT_BOTTOM + 11.0),
            card_width: 60.0,
            caption_bottom: Val::Percent(Self::PORTRAIT_BOTTOM + 1.0),
            caption_width: 92.0,
        }
    }
}

pub struct OverlayPlugin {
    pub settings: OverlaySettings,
}

const FLASH_RED: Color = Color::srgb(0.88, 0.11, 0.15);
const INK: Color = Color::srgb(0.10, 0.10, 0.12);
const TICKER_GREEN: Color = Color::srgb(0.05, 0.55, 0.32);

impl Plugin for OverlayPlugin {
    fn build(&self, app: &mut App) {
        let font = match &self.settings.config.font {
            Some(path) => std::fs::read(path).unwrap_or_else(|e| {
                warn!(
                    "overlay font {}: {e}; using the built-in one",
                    path.display()
                );
                CJK_FONT.to_vec()
            }),
            None => CJK_FONT.to_vec(),
        };
        if let Some(mut fonts) = app.world_mut().get_resource_mut::<Assets<Font>>() {
            // The default handle: every text without its own font uses this one.
            let _ = fonts.insert(AssetId::default(), Font::from_bytes(font));
        }
        app.insert_resource(self.settings.clone())
            .init_resource::<OnAirNow>()
            .add_systems(
                Update,
                (
                    spawn_overlay,
                    update_overlay,
                    show_ticker,
                    show_product_image,
                )
                    .chain(),
            );
    }
}

impl CardPlace {
    fn node(self) -> Node {
        match self {
            CardPlace::RightTop(top) => Node {
                right: Val::VMin(3.5),
                top: Val::VMin(top),
                ..default()
            },
            CardPlace::LeftBottom(bottom) => Node {
                left: Val::VMin(3.5),
                bottom: Val::Percent(bottom),
                ..default()
            },
        }
    }
}

/// The root of one program's graphics (0: the main program).
#[derive(Component)]
struct OverlayRoot(usize);
#[derive(Component)]
struct LowerThird;
#[derive(Component)]
struct LowerThirdText;
#[derive(Component)]
struct Card;
#[derive(Component)]
struct CardName;
#[derive(Component)]
struct CardSubName;
#[derive(Component)]
struct CardPrice;
#[derive(Component)]
struct CardOriginal;
#[derive(Component)]
struct CardBanner;
#[derive(Component)]
struct CardBannerText;
#[derive(Component)]
struct CardStock;
#[derive(Component)]
struct CardImage;
#[derive(Component)]
struct TickerBox;
#[derive(Component)]
struct TickerText;
#[derive(Component)]
struct Caption;
#[derive(Component)]
struct CaptionText;

fn text(size_vh: f32, color: Color) -> (TextFont, TextColor) {
    (
        TextFont::from_font_size(FontSize::VMin(size_vh)),
        TextColor(color),
    )
}

fn panel(color: Color) -> BackgroundColor {
    BackgroundColor(color)
}

/// Builds each program's graphics once its camera exists, targeting it: the on-air
/// camera's in the show's layout, a program beside it in the layout of its picture.
fn spawn_overlay(
    mut commands: Commands,
    settings: Res<OverlaySettings>,
    main: Query<Entity, With<ActiveCamera>>,
    views: Query<(Entity, &ViewCamera)>,
    composers: Query<(Entity, &ComposeCamera)>,
    existing: Query<&OverlayRoot>,
    assets: Res<AssetServer>,
) {
    if !settings.config.enabled {
        return;
    }
    // A program composed over the shared picture (the main one among them) has its
    // graphics on its compositor; it has the main program's size, so its layout too.
    let composed = (composers.iter()).map(|(e, c)| (e, c.index, settings.layout));
    let main = (main.single().ok())
        .filter(|_| composers.is_empty())
        .map(|e| (e, 0, settings.layout));
    let others = (views.iter()).map(|(e, v)| (e, v.index, Layout::for_size(v.width, v.height)));
    for (camera, index, layout) in main.into_iter().chain(composed).chain(others) {
        if !existing.iter().any(|r| r.0 == index) {
            spawn_graphics(&mut commands, &settings, &assets, (camera, index), layout);
        }
    }
}

/// One program's graphics over `camera` (its entity and program index): a full-picture
/// root with each graphic in its place, hidden until it has something to show.
fn spawn_graphics(
    commands: &mut Commands,
    settings: &OverlaySettings,
    assets: &AssetServer,
    (camera, index): (Entity, usize),
    layout: Layout,
) {
    commands
        .spawn((
            OverlayRoot(index),
            UiTargetCamera(camera),
            Node {
                width: Val::Percent(100.0),
                height: Val::Percent(100.0),
                position_type: PositionType::Absolute,
                ..default()
            },
            Pickable::IGNORE,
        ))
        .with_children(|root| {
            spawn_corners(root, settings, assets, &layout);
            spawn_card(root, &layout);
            spawn_lower_third(root, &layout);
            spawn_ticker(root, &layout);
            spawn_captions(root, &layout);
        });
}

/// Padding of `v` above and below and `h` either side, in hundredths of the picture's
/// shorter side.
fn pad(v: f32, h: f32) -> UiRect {
    UiRect::axes(Val::VMin(h), Val::VMin(v))
}

/// Top left, the logo (or the shop's name as a badge); top right, the label platforms
/// require on a virtual presenter.
fn spawn_corners(
    root: &mut ChildSpawnerCommands,
    settings: &OverlaySettings,
    assets: &AssetServer,
    layout: &Layout,
) {
    let config = &settings.config;
    let corner = Node {
        position_type: PositionType::Absolute,
        left: Val::VMin(2.5),
        top: layout.logo_top,
        padding: pad(0.8, 1.6),
        ..default()
    };
    match &config.logo {
        Some(path) => {
            root.spawn((
                Node {
                    height: Val::VMin(9.0),
                    ..corner
                },
                ImageNode::new(assets.load(path.clone())),
            ));
        }
        None if !settings.shop.is_empty() => {
            root.spawn((corner, panel(INK.with_alpha(0.75))))
                .with_child((Text::new(settings.shop.clone()), text(3.4, Color::WHITE)));
        }
        None => {}
    }
    if config.label_enabled && !config.label.trim().is_empty() {
        root.spawn((
            Node {
                position_type: PositionType::Absolute,
                right: Val::VMin(2.5),
                top: layout.corner_top,
                padding: pad(0.6, 1.2),
                ..default()
            },
            panel(Color::BLACK.with_alpha(0.55)),
        ))
        .with_child((Text::new(config.label.clone()), text(2.6, Color::WHITE)));
    }
}

/// The product card: a flash-sale banner, the product's picture, names, price (the
/// original struck through) and stock.
fn spawn_card(root: &mut ChildSpawnerCommands, layout: &Layout) {
    root.spawn((
        Card,
        Node {
            position_type: PositionType::Absolute,
            width: Val::VMin(layout.card_width),
            flex_direction: FlexDirection::Column,
            padding: pad(1.6, 2.2),
            row_gap: Val::VMin(0.8),
            display: Display::None,
            ..layout.card.node()
        },
        panel(Color::WHITE.with_alpha(0.92)),
    ))
    .with_children(|card| {
        card.spawn((
            CardBanner,
            Node {
                padding: pad(0.5, 1.2),
                justify_content: JustifyContent::SpaceBetween,
                ..default()
            },
            panel(FLASH_RED),
        ))
        .with_child((CardBannerText, Text::new(""), text(3.6, Color::WHITE)));
        card.spawn((
            CardImage,
            Node {
                height: Val::VMin(16.0),
                align_self: AlignSelf::Center,
                display: Display::None,
                ..default()
            },
            ImageNode::default(),
        ));
        card.spawn((CardName, Text::new(""), text(4.4, INK)));
        card.spawn((CardSubName, Text::new(""), text(2.8, INK.with_alpha(0.7))));
        card.spawn(Node {
            align_items: AlignItems::Baseline,
            column_gap: Val::VMin(1.6),
            ..default()
        })
        .with_children(|row| {
            row.spawn((CardPrice, Text::new(""), text(7.5, FLASH_RED)));
            row.spawn((
                CardOriginal,
                Text::new(""),
                text(3.6, INK.with_alpha(0.55)),
                Strikethrough,
            ));
        });
        card.spawn((CardStock, Text::new(""), text(2.6, INK.with_alpha(0.7))));
    });
}

/// Bottom left, above the captions: the lower third (the segment's title).
fn spawn_lower_third(root: &mut ChildSpawnerCommands, layout: &Layout) {
    root.spawn((
        LowerThird,
        Node {
            position_type: PositionType::Absolute,
            left: Val::VMin(3.5),
            top: layout.title.0,
            bottom: layout.title.1,
            padding: pad(0.8, 1.8),
            border: UiRect::left(Val::VMin(0.8)),
            display: Display::None,
            ..default()
        },
        panel(INK.with_alpha(0.8)),
        BorderColor::all(FLASH_RED),
    ))
    .with_child((LowerThirdText, Text::new(""), text(3.6, Color::WHITE)));
}

/// Left, under the logo: "Lily just bought 2 × Tea cup".
fn spawn_ticker(root: &mut ChildSpawnerCommands, layout: &Layout) {
    root.spawn((
        TickerBox,
        Node {
            position_type: PositionType::Absolute,
            left: Val::VMin(2.5),
            top: layout.ticker_top,
            padding: pad(0.6, 1.4),
            display: Display::None,
            ..default()
        },
        panel(TICKER_GREEN.with_alpha(0.9)),
    ))
    .with_child((TickerText, Text::new(""), text(3.0, Color::WHITE)));
}

/// Bottom, centred: captions of what the host is saying.
fn spawn_captions(root: &mut ChildSpawnerCommands, layout: &Layout) {
    root.spawn(Node {
        position_type: PositionType::Absolute,
        bottom: layout.caption_bottom,
        width: Val::Percent(100.0),
        justify_content: JustifyContent::Center,
        ..default()
    })
    .with_child((
        Caption,
        Node {
            max_width: Val::Percent(layout.caption_width),
            padding: pad(0.8, 1.8),
            display: Display::None,
            ..default()
        },
        panel(Color::BLACK.with_alpha(0.62)),
        children![(
            CaptionText,
            Text::new(""),
            text(4.2, Color::WHITE),
            TextLayout::justify(Justify::Center),
        )],
    ));
}

/// The "just bought" notice, while it is current.
fn show_ticker(
    on_air: Res<OnAirNow>,
    time: Option<Res<MediaTime>>,
    mut boxes: Query<&mut Node, With<TickerBox>>,
    mut texts: Query<&mut Text, With<TickerText>>,
) {
    let now = time.map_or(0.0, |t| t.0);
    let ticker = on_air.0.ticker.as_ref().filter(|t| now < t.until);
    let display = if ticker.is_some() {
        Display::Flex
    } else {
        Display::None
    };
    for mut node in &mut boxes {
        if node.display != display {
            node.display = display;
        }
    }
    if let Some(ticker) = ticker {
        for mut text in &mut texts {
            if text.0 != ticker.text {
                text.0 = ticker.text.clone();
            }
        }
    }
}

/// The product's picture on the card (JPEG, PNG or WebP), loaded once per file.
fn show_product_image(
    on_air: Res<OnAirNow>,
    assets: Res<AssetServer>,
    mut images: Query<(&mut ImageNode, &mut Node), With<CardImage>>,
    mut loaded: Local<std::collections::HashMap<std::path::PathBuf, Handle<Image>>>,
) {
    if !on_air.is_changed() {
        return;
    }
    let picture = on_air
        .0
        .product
        .as_ref()
        .filter(|_| on_air.0.card)
        .and_then(|p| p.image.clone());
    for (mut image, mut node) in &mut images {
        match &picture {
            Some(path) => {
                let handle = loaded
                    .entry(path.clone())
                    .or_insert_with(|| assets.load(crate::scene::bevy_asset_path(path)))
                    .clone();
                if image.image != handle {
                    image.image = handle;
                }
                node.display = Display::Flex;
            }
            None => node.display = Display::None,
        }
    }
}

/// Fills each program's graphics from what is on air in its language and what it is
/// saying; hides what has nothing to show.
fn update_overlay(
    settings: Res<OverlaySettings>,
    on_air: Res<OnAirNow>,
    feeds: Option<Res<ProgramFeeds>>,
    time: Option<Res<MediaTime>>,
    speech: Option<Res<SpeechTimeline>>,
    roots: Query<(Entity, &OverlayRoot)>,
    children: Query<&Children>,
    mut nodes: ParamSet<(
        Query<(Entity, &mut Node), With<Card>>,
        Query<(Entity, &mut Node), With<CardBanner>>,
        Query<(Entity, &mut Node), With<LowerThird>>,
        Query<(Entity, &mut Node), With<Caption>>,
    )>,
    mut texts: ParamSet<(
        Query<(Entity, &mut Text), With<CardName>>,
        Query<(Entity, &mut Text), With<CardSubName>>,
        Query<(Entity, &mut Text), With<CardPrice>>,
        Query<(Entity, &mut Text), With<CardOriginal>>,
        Query<(Entity, &mut Text), With<CardBannerText>>,
        Query<(Entity, &mut Text), With<CardStock>>,
        Query<(Entity, &mut Text), With<LowerThirdText>>,
        Query<(Entity, &mut Text), With<CaptionText>>,
    )>,
) {
    let now = time.map_or(0.0, |t| t.0);
    let no_speech = Default::default();
    let main_speech = speech.as_ref().map_or(&no_speech, |s| &s.0);
    let config = &settings.config;
    let mut programs = std::collections::HashMap::new();
    let mut graphics = Vec::new();
    for (root, OverlayRoot(index)) in &roots {
        let feed = feeds.as_ref().and_then(|f| f.get(*index));
        let at = graphics.len();
        graphics.push(match feed {
            Some(f) => graphics_of(&f.on_air, &f.speech, (config, &f.currency), now),
            None => graphics_of(&on_air.0, main_speech, (config, &config.currency), now),
        });
        programs.extend(children.iter_descendants(root).map(|e| (e, at)));
    }
    let of = |e: Entity| programs.get(&e).map(|&i| &graphics[i]);
    show_where(&mut nodes.p0(), of, |g| g.card.is_some());
    show_where(&mut nodes.p1(), of, |g| g.banner.is_some());
    show_where(&mut nodes.p2(), of, |g| g.title.is_some());
    show_where(&mut nodes.p3(), of, |g| g.caption.is_some());
    set_where(&mut texts.p0(), of, |g| {
        g.card.as_ref().map(|c| c.name.clone())
    });
    set_where(&mut texts.p1(), of, |g| {
        g.card.as_ref().map(|c| c.other_name.clone())
    });
    set_where(&mut texts.p2(), of, |g| {
        g.card.as_ref().map(|c| c.price.clone())
    });
    set_where(&mut texts.p3(), of, |g| {
        g.card.as_ref().map(|c| c.original.clone())
    });
    set_where(&mut texts.p4(), of, |g| g.banner.clone());
    set_where(&mut texts.p5(), of, |g| {
        g.card.as_ref().map(|c| c.stock.clone())
    });
    set_where(&mut texts.p6(), of, |g| g.title.clone());
    set_where(&mut texts.p7(), of, |g| g.caption.clone());
}

/// Shows or hides each node of a kind as its program's graphics say.
fn show_where<'g, F: QueryFilter>(
    nodes: &mut Query<(Entity, &mut Node), F>,
    of: impl Fn(Entity) -> Option<&'g Graphics>,
    on: impl Fn(&Graphics) -> bool,
) {
    for (entity, mut node) in nodes.iter_mut() {
        let Some(graphics) = of(entity) else { continue };
        let display = if on(graphics) {
            Display::Flex
        } else {
            Display::None
        };
        if node.display != display {
            node.display = display;
        }
    }
}

/// Writes each text of a kind from its program's graphics (unchanged where they have
/// none, or the same): a text rewritten every frame would be laid out every frame.
fn set_where<'g, F: QueryFilter>(
    texts: &mut Query<(Entity, &mut Text), F>,
    of: impl Fn(Entity) -> Option<&'g Graphics>,
    value: impl Fn(&Graphics) -> Option<String>,
) {
    for (entity, mut text) in texts.iter_mut() {
        if let Some(value) = of(entity).and_then(&value)
            && text.0 != value
        {
            text.0 = value;
        }
    }
}
