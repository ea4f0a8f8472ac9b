//! What a program's graphics say this frame, as plain data: computed from what is on air
//! in the program's language and the line it is saying, then written into the UI nodes.
//! Kept apart from the nodes so each program (a main one, programs beside it in other
//! languages) gets its own, and so it can be tested without a renderer.

use crate::config::plan::{OverlayConfig, SegmentKind, price_text};
use crate::show::{OnAir, clock_text};
use crate::speech::ScheduledLine;
use std::collections::VecDeque;

/// The texts of one program's graphics; `None` hides the graphic.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Graphics {
    pub card: Option<CardText>,
    /// The flash sale's banner on the card: its name and the time left.
    pub banner: Option<String>,
    /// The lower third.
    pub title: Option<String>,
    pub caption: Option<String>,
}

/// The product card's lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CardText {
    /// The name in the program's language, and in the other one when it differs.
    pub name: String,
    pub other_name: String,
    pub price: String,
    /// The price before the flash sale, struck through (empty outside one).
    pub original: String,
    pub stock: String,
}

/// The graphics of a program showing `on_air`, saying `speech`, with prices in
/// `currency`, at media second `now`.
pub fn graphics_of(
    on_air: &OnAir,
    speech: &VecDeque<ScheduledLine>,
    (config, currency): (&OverlayConfig, &str),
    now: f64,
) -> Graphics {
    let price = |v: f64| price_text(currency, v);
    let zh = on_air.language == "zh";
    let flash_left = (on_air.flash_ends)
        .filter(|_| on_air.kind == Some(SegmentKind::FlashSale))
        .map(|e| e - now);
    let product = on_air.product.as_ref().filter(|_| on_air.card);
    let card = product.map(|p| {
        let (first, second) = if zh { ("zh", "en") } else { ("en", "zh") };
        let name = p.name.get(first).to_string();
        let other = p.name.get(second);
        let flash = flash_left.is_some() && p.flash_price.is_some();
        CardText {
            other_name: if other == name {
                String::new()
            } else {
                other.to_string()
            },
            name,
            price: price(if flash {
                p.flash_price.unwrap_or(p.price)
            } else {
                p.price
            }),
            original: if flash { price(p.price) } else { String::new() },
            stock: match (p.stock, zh) {
                (None, _) => String::new(),
                (Some(0), true) => "已售罄".into(),
                (Some(0), false) => "Sold out".into(),
                (Some(s), true) => format!("库存 {s} 件"),
                (Some(s), false) => format!("{s} in stock"),
            },
        }
    });
    let banner = flash_left.filter(|_| card.is_some()).map(|left| {
        let name = if zh { "限时秒杀" } else { "FLASH SALE" };
        format!("{name}  {}", clock_text(left))
    });
    let caption = (config.captions)
        .then(|| speech.iter().find(|l| l.offset_at(now).is_some()))
        .flatten()
        .map(|l| l.line.text.clone());
    let shown = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
    Graphics {
        card,
        banner,
        title: shown(on_air.title.clone()),
        caption: shown(caption),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plan::{Names, Product};

    fn pitch(language: &str) -> OnAir {
        OnAir {
            kind: Some(SegmentKind::FlashSale),
            card: true,
            flash_ends: Some(75.0),
            language: language.into(),
            title: Some("  ".into()),
            product: Some(Product {
                id: "pump".into(),
                name: Names {
                    zh: Some("水泵".into()),
                    en: Some("Water pump".into()),
                },
                price: 99.0,
                flash_price: Some(79.0),
                stock: Some(12),
                points: Default::default(),
                prop: None,
                image: None,
                prices: Default::default(),
            }),
            ..OnAir::default()
        }
    }

    #[test]
    fn each_language_gets_its_own_card() {
        let config = OverlayConfig::default();
        let none = VecDeque::new();
        let zh = graphics_of(&pitch("zh"), &none, (&config, "¥"), 10.0);
        let en = graphics_of(&pitch("en"), &none, (&config, "US$"), 10.0);
        let (zh_card, en_card) = (zh.card.unwrap(), en.card.unwrap());
        assert_eq!(
            (zh_card.name.as_str(), zh_card.other_name.as_str()),
            ("水泵", "Water pump")
        );
        assert_eq!(en_card.name, "Water pump");
        assert_eq!(en_card.stock, "12 in stock");
        assert_eq!(
            (en_card.price.as_str(), en_card.original.as_str()),
            ("US$79", "US$99")
        );
        assert!(zh_card.price.ends_with("79") && zh_card.original.ends_with("99"));
        assert_eq!(zh.banner.as_deref(), Some("限时秒杀  01:05"));
        assert_eq!(en.banner.as_deref(), Some("FLASH SALE  01:05"));
        assert_eq!(en.title, None, "a blank title is no lower third");
        assert_eq!(en.caption, None);
        // Bought out: the card says so, not "0 in stock".
        let mut gone = pitch("en");
        gone.product.as_mut().unwrap().stock = Some(0);
        let card = graphics_of(&gone, &none, (&config, "US$"), 10.0)
            .card
            .unwrap();
        assert_eq!(card.stock, "Sold out");
    }
}
