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

use crate::config::plan::{OverlayConfig, SegmentKind};
use crate::scene::ActiveCamera;
use crate::show::clock_text;
use crate::stage::{MediaTime, OnAirNow, SpeechTimeline};
use bevy::prelude::*;
use bevy::text::{Font, FontSize, Strikethrough};

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

#[derive(Component)]
struct OverlayRoot;
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

/// Builds the graphics once the on-air camera exists, targeting it.
///
/// Long on purpose: it declares the whole UI tree of the graphics, which reads best as one nested picture of the layout.
fn spawn_overlay(
    mut commands: Commands,
    settings: Res<OverlaySettings>,
    camera: Query<Entity, With<ActiveCamera>>,
    existing: Query<(), With<OverlayRoot>>,
    assets: Res<AssetServer>,
) {
    if !existing.is_empty() || !settings.config.enabled {
        return;
    }
    let Ok(camera) = camera.single() else {
        return;
    };
    let config = &settings.config;
    let layout = settings.layout;
    let pad = |v: f32, h: f32| UiRect::axes(Val::VMin(h), Val::VMin(v));
    commands
        .spawn((
            OverlayRoot,
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
            // Top left: the logo, or the shop's name as a badge.
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
            // Top right: the label platforms require on a virtual presenter.
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
            // Right: the product card.
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
                .with_child((
                    CardBannerText,
                    Text::new(""),
                    text(3.6, Color::WHITE),
                ));
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
            // Bottom left, above the captions: the lower third.
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
            // Left, under the logo: "Lily just bought 2 × Tea cup".
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
            // Bottom: captions of what the host is saying.
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
        });
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

/// The product's picture on the card (JPEG), loaded once per file.
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

/// Fills the graphics from what is on air; hides what has nothing to show.
///
/// Long on purpose: one pass over the graphics' texts and visibility in screen order (label, logo, lower third, card, captions), each a few lines.

fn update_overlay(
    settings: Res<OverlaySettings>,
    on_air: Res<OnAirNow>,
    time: Option<Res<MediaTime>>,
    speech: Option<Res<SpeechTimeline>>,
    mut nodes: ParamSet<(
        Query<&mut Node, With<Card>>,
        Query<&mut Node, With<CardBanner>>,
        Query<&mut Node, With<LowerThird>>,
        Query<&mut Node, With<Caption>>,
    )>,
    mut texts: ParamSet<(
        Query<&mut Text, With<CardName>>,
        Query<&mut Text, With<CardSubName>>,
        Query<&mut Text, With<CardPrice>>,
        Query<&mut Text, With<CardOriginal>>,
        Query<&mut Text, With<CardBannerText>>,
        Query<&mut Text, With<CardStock>>,
        Query<&mut Text, With<LowerThirdText>>,
        Query<&mut Text, With<CaptionText>>,
    )>,
) {
    let now = time.map_or(0.0, |t| t.0);
    let on_air = &on_air.0;
    let config = &settings.config;
    let zh = on_air.language == "zh";
    let flash_left = on_air
        .flash_ends
        .filter(|_| on_air.kind == Some(SegmentKind::FlashSale))
        .map(|e| e - now);
    let show = |node: &mut Node, on: bool| {
        let display = if on { Display::Flex } else { Display::None };
        if node.display != display {
            node.display = display;
        }
    };
    let set = |text: &mut Text, value: String| {
        if text.0 != value {
            text.0 = value;
        }
    };

    let product = on_air.product.as_ref().filter(|_| on_air.card);
    for mut n in nodes.p0().iter_mut() {
        show(&mut n, product.is_some());
    }
    for mut n in nodes.p1().iter_mut() {
        show(&mut n, flash_left.is_some());
    }
    if let Some(p) = product {
        let (first, second) = if zh { ("zh", "en") } else { ("en", "zh") };
        let name = p.name.get(first).to_string();
        let other = p.name.get(second);
        for mut t in texts.p0().iter_mut() {
            set(&mut t, name.clone());
        }
        for mut t in texts.p1().iter_mut() {
            set(
                &mut t,
                if other == name {
                    String::new()
                } else {
                    other.to_string()
                },
            );
        }
        let flash = flash_left.is_some() && p.flash_price.is_some();
        let now_price = if flash {
            p.flash_price.unwrap_or(p.price)
        } else {
            p.price
        };
        for mut t in texts.p2().iter_mut() {
            set(&mut t, config.price(now_price));
        }
        for mut t in texts.p3().iter_mut() {
            set(
                &mut t,
                if flash {
                    config.price(p.price)
                } else {
                    String::new()
                },
            );
        }
        if let Some(left) = flash_left {
            let banner = format!(
                "{}  {}",
                if zh { "限时秒杀" } else { "FLASH SALE" },
                clock_text(left)
            );
            for mut t in texts.p4().iter_mut() {
                set(&mut t, banner.clone());
            }
        }
        let stock = p.stock.map_or(String::new(), |s| {
            if zh {
                format!("库存 {s} 件")
            } else {
                format!("{s} in stock")
            }
        });
        for mut t in texts.p5().iter_mut() {
            set(&mut t, stock.clone());
        }
    }

    let title = on_air.title.clone().filter(|t| !t.trim().is_empty());
    for mut n in nodes.p2().iter_mut() {
        show(&mut n, title.is_some());
    }
    if let Some(title) = title {
        for mut t in texts.p6().iter_mut() {
            set(&mut t, title.clone());
        }
    }

    let caption = config
        .captions
        .then(|| {
            speech?
                .0
                .iter()
                .find(|l| l.offset_at(now).is_some())
                .map(|l| l.line.text.clone())
        })
        .flatten()
        .filter(|t| !t.trim().is_empty());
    for mut n in nodes.p3().iter_mut() {
        show(&mut n, caption.is_some());
    }
    if let Some(caption) = caption {
        for mut t in texts.p7().iter_mut() {
            set(&mut t, caption.clone());
        }
    }
}
