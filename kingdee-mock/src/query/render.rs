//! Writes a page as ExecuteBillQuery (arrays in FieldKeys order) or BillQuery (objects keyed
//! by the FieldKeys exactly as requested) answer it: straight from the rows into the output
//! buffer, without building a JSON tree.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::data::Store;
use crate::data::fields::Col;
use crate::data::row::{Arena, Row};

/// The two answer shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Arrays,
    Objects,
}

struct Page<'a> {
    store: &'a Store,
    positions: &'a [usize],
    keys: &'a [String],
    cols: &'a [Col],
    shape: Shape,
}

struct RowView<'a> {
    row: &'a Row,
    arena: &'a Arena,
    keys: &'a [String],
    cols: &'a [Col],
}

impl Serialize for Page<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.positions.len()))?;
        let rows = self.store.slots();
        for &p in self.positions {
            let view = RowView {
                row: &rows[p],
                arena: self.store.arena(),
                keys: self.keys,
                cols: self.cols,
            };
            match self.shape {
                Shape::Arrays => seq.serialize_element(&AsArray(&view))?,
                Shape::Objects => seq.serialize_element(&AsObject(&view))?,
            }
        }
        seq.end()
    }
}

struct AsArray<'a>(&'a RowView<'a>);
struct AsObject<'a>(&'a RowView<'a>);

impl Serialize for AsArray<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut seq = s.serialize_seq(Some(v.cols.len()))?;
        for col in v.cols {
            seq.serialize_element(&col.get(v.row, v.arena))?;
        }
        seq.end()
    }
}

impl Serialize for AsObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut map = s.serialize_map(Some(v.cols.len()))?;
        for (key, col) in v.keys.iter().zip(v.cols) {
            map.serialize_entry(key, &col.get(v.row, v.arena))?;
        }
        map.end()
    }
}

/// The JSON text of a page.
pub fn render(
    store: &Store,
    positions: &[usize],
    keys: &[String],
    cols: &[Col],
    shape: Shape,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + positions.len() * cols.len() * 16);
    let page = Page {
        store,
        positions,
        keys,
        cols,
        shape,
    };
    // Writing to a Vec cannot fail, and our values are always serialisable.
    if serde_json::to_writer(&mut out, &page).is_err() {
        out.clear();
        out.extend_from_slice(b"[]");
    }
    out
}
