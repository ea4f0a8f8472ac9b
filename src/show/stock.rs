//! The stock left, kept across reloads and restarts: the show file gives each product's
//! stock, orders lower it, and a show restarted in the night (or a catalog edit taken)
//! must not say "50 left" of a product the room has bought down to 12. Counting starts
//! from the file's figure; a new figure in the file (the factory restocked) starts it
//! again from there.

use crate::config::plan::Product;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A ledger larger than this is not one this program wrote.
const MAX_BYTES: u64 = 1 << 20;

#[derive(Debug, Error)]
pub enum StockError {
    #[error("stock ledger {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stock ledger {path}: {size} bytes, more than a ledger holds")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("stock ledger {path}: not a ledger: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Each counted product's stock: the file's figure counting started from, and what is
/// left of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockLedger {
    products: BTreeMap<String, Kept>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    from: u32,
    left: u32,
}

impl StockLedger {
    /// The ledger at `path`; an empty one when there is no file yet.
    pub fn read(path: &Path) -> Result<Self, StockError> {
        let io = |source| StockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = match std::fs::metadata(path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(io(e)),
        };
        if size > MAX_BYTES {
            let path = path.to_path_buf();
            return Err(StockError::TooLarge { path, size });
        }
        let text = std::fs::read(path).map_err(io)?;
        serde_json::from_slice(&text).map_err(|source| StockError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the ledger whole to a file beside `path`, then puts it in its place, so a
    /// stop mid-write leaves the last ledger, not half of one.
    pub fn write(&self, path: &Path) -> Result<(), StockError> {
        let io = |source| StockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let text = serde_json::to_vec_pretty(self).expect("a ledger is plain data");
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(&partial, path).map_err(io)
    }

    /// Gives `products` (as the file has them) the stock counted down from their file's
    /// figures. A product whose figure changed, or that is new, is counted from it; one
    /// without stock, or gone from the catalog, is forgotten.
    pub fn carry(&mut self, products: &mut [Product]) {
        self.products
            .retain(|id, _| products.iter().any(|p| p.id == *id && p.stock.is_some()));
        for p in products {
            let (Some(from), Some(left)) = (p.stock, self.left_of(p)) else {
                continue;
            };
            self.products.insert(p.id.clone(), Kept { from, left });
            p.stock = Some(left);
        }
    }

    /// What [`StockLedger::carry`] would give `product` (as the file has it), without
    /// carrying: the figure left when the ledger counts from the file's, else the file's.
    pub fn left_of(&self, product: &Product) -> Option<u32> {
        let file = product.stock?;
        Some(match self.products.get(&product.id) {
            Some(kept) if kept.from == file => kept.left.min(file),
            _ => file,
        })
    }

    /// Whether [`StockLedger::carry`] would carry what orders left of `product` (as the
    /// file has it): the ledger counts it from the same figure.
    pub fn carries(&self, product: &Product) -> bool {
        let kept = self.products.get(&product.id);
        product
            .stock
            .is_some_and(|file| kept.is_some_and(|k| k.from == file))
    }

    /// Product `id` has `left` after an order; whether that changed the ledger.
    pub fn sold(&mut self, id: &str, left: u32) -> bool {
        match self.products.get_mut(id) {
            Some(kept) if kept.left != left => {
                kept.left = left;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, stock: Option<u32>) -> Product {
        Product {
            id: id.into(),
            name: Default::default(),
            price: 1.0,
            flash_price: None,
            points: Default::default(),
            stock,
            prop: None,
            image: None,
            prices: Default::default(),
        }
    }

    #[test]
    fn sold_stock_is_carried_until_the_file_restocks() {
        let mut ledger = StockLedger::default();
        let mut catalog = vec![product("kettle", Some(50)), product("fan", None)];
        ledger.carry(&mut catalog);
        assert_eq!(catalog[0].stock, Some(50));
        assert!(ledger.sold("kettle", 38));
        assert!(!ledger.sold("kettle", 38), "no change");
        assert!(!ledger.sold("fan", 3), "not counted");
        // The same file again (a reload, a restart): 38 left, not 50; said alike before
        // carrying, and a restock or a new product by its own figure.
        let mut again = vec![product("kettle", Some(50)), product("fan", None)];
        assert_eq!(ledger.left_of(&again[0]), Some(38));
        assert_eq!(ledger.left_of(&again[1]), None);
        assert_eq!(ledger.left_of(&product("kettle", Some(80))), Some(80));
        assert_eq!(ledger.left_of(&product("lamp", Some(5))), Some(5));
        ledger.carry(&mut again);
        assert_eq!((again[0].stock, again[1].stock), (Some(38), None));
        // The factory restocked: the file's new figure, counted from there.
        let mut restocked = vec![product("kettle", Some(200))];
        ledger.carry(&mut restocked);
        assert_eq!(restocked[0].stock, Some(200));
        // A product dropped from the catalog is forgotten: back later, it starts afresh.
        ledger.carry(&mut []);
        let mut back = vec![product("kettle", Some(200))];
        ledger.carry(&mut back);
        assert_eq!(back[0].stock, Some(200));
    }

    #[test]
    fn the_ledger_survives_a_restart_and_refuses_what_it_did_not_write() {
        let dir = std::env::temp_dir().join(format!("twincast-stock-{}", std::process::id()));
        let path = dir.join("show.stock.json");
        assert_eq!(StockLedger::read(&path).unwrap(), StockLedger::default());
        let mut ledger = StockLedger::default();
        ledger.carry(&mut [product("kettle", Some(50))]);
        ledger.sold("kettle", 7);
        ledger.write(&path).unwrap();
        let mut catalog = vec![product("kettle", Some(50))];
        StockLedger::read(&path).unwrap().carry(&mut catalog);
        assert_eq!(catalog[0].stock, Some(7));
        std::fs::write(&path, "{\"products\": {\"kettle\": 7}}").unwrap();
        let e = StockLedger::read(&path).unwrap_err();
        assert!(e.to_string().contains("not a ledger"), "{e}");
        std::fs::write(&path, vec![b' '; (MAX_BYTES + 1) as usize]).unwrap();
        assert!(matches!(
            StockLedger::read(&path),
            Err(StockError::TooLarge { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
