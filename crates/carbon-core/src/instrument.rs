//! Instruments: priced locations of a market, identified as `<ISO>.<node>`.

use std::{fmt, str::FromStr, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::{
    Market,
    error::{Error, Result, unknown},
};

/// Instrument id: `<ISO code>.<ISO node name>`, e.g. `MISO.INDIANA.HUB`,
/// `CAISO.TH_SP15_GEN-APND`. The node part keeps the ISO's own spelling
/// (dots included); the market part is one of the [`Market`] codes.
#[derive(Debug, Clone, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstrumentId {
    /// Shared: the many observations of one node clone a pointer, not the text.
    text: Arc<str>,
    market: Market,
}

/// Equal texts are equal ids (the market follows from the text); rows of one
/// node share one text, so most comparisons end at the pointer.
impl PartialEq for InstrumentId {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.text, &other.text) || self.text == other.text
    }
}

impl std::hash::Hash for InstrumentId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl InstrumentId {
    /// Builds the id of `node` in `market`.
    pub fn new(market: Market, node: &str) -> Result<Self> {
        Self::parse(&format!("{}.{}", market.code(), node))
    }

    /// Parses `<ISO>.<node>`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidInstrumentId {
            value: text.to_string(),
            reason: reason.to_string(),
        };
        let (iso, node) = text
            .split_once('.')
            .ok_or_else(|| bad("expected `<ISO>.<node>`, e.g. `MISO.INDIANA.HUB`"))?;
        let market: Market = iso
            .parse()
            .map_err(|_| bad(&format!("`{iso}` is not a known market")))?;
        if iso != market.code() {
            return Err(bad(&format!("write the market as `{}`", market.code())));
        }
        if node.is_empty() {
            return Err(bad("the node name is empty"));
        }
        if node.trim() != node {
            return Err(bad("the node name has leading or trailing spaces"));
        }
        if node.chars().any(|c| c.is_control()) {
            return Err(bad("the node name has control characters"));
        }
        if node.len() > 200 {
            return Err(bad("the node name is longer than 200 bytes"));
        }
        Ok(Self {
            text: Arc::from(text),
            market,
        })
    }

    /// The market part.
    pub fn market(&self) -> Market {
        self.market
    }

    /// The ISO's node name (everything after the first dot).
    pub fn node(&self) -> &str {
        &self.text[self.market.code().len() + 1..]
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for InstrumentId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for InstrumentId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<InstrumentId> for String {
    fn from(id: InstrumentId) -> String {
        id.text.to_string()
    }
}

/// What kind of location an instrument prices.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// Trading hub (MISO `Hub`, CAISO trading hubs `TH_*`).
    Hub,
    /// Zone or load zone (MISO `Loadzone`, CAISO DLAP).
    Zone,
    /// Interface / external proxy bus.
    Interface,
    /// Generator node.
    Generator,
    /// Aggregated pricing node (CAISO APNode).
    Aggregate,
    /// Any other pricing node.
    Node,
}

impl LocationKind {
    /// Every kind, in a stable order.
    pub const ALL: [LocationKind; 6] = [
        LocationKind::Hub,
        LocationKind::Zone,
        LocationKind::Interface,
        LocationKind::Generator,
        LocationKind::Aggregate,
        LocationKind::Node,
    ];

    /// The canonical lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Hub => "hub",
            LocationKind::Zone => "zone",
            LocationKind::Interface => "interface",
            LocationKind::Generator => "generator",
            LocationKind::Aggregate => "aggregate",
            LocationKind::Node => "node",
        }
    }
}

impl fmt::Display for LocationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LocationKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let k = match s.trim().to_ascii_lowercase().as_str() {
            "hub" => LocationKind::Hub,
            "zone" | "loadzone" | "load_zone" | "load zone" => LocationKind::Zone,
            "interface" => LocationKind::Interface,
            "generator" | "gennode" | "generator_node" => LocationKind::Generator,
            "aggregate" | "aggregated" | "apnode" | "aggregated_node" => LocationKind::Aggregate,
            "node" | "pnode" => LocationKind::Node,
            _ => {
                return Err(unknown(
                    "location kind",
                    s,
                    &LocationKind::ALL.map(|k| k.as_str()),
                ));
            }
        };
        Ok(k)
    }
}

/// A priced location of a market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// `<ISO>.<node>`.
    pub id: InstrumentId,
    /// Kind of location.
    pub kind: LocationKind,
    /// Human-readable name, when the ISO gives one beyond the node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Instrument {
    /// An instrument with no display name.
    pub fn new(id: InstrumentId, kind: LocationKind) -> Self {
        Self {
            id,
            kind,
            name: None,
        }
    }

    /// The market of the instrument.
    pub fn market(&self) -> Market {
        self.id.market()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_with_dotted_nodes() {
        let id = InstrumentId::parse("MISO.INDIANA.HUB").unwrap();
        assert_eq!(id.market(), Market::Miso);
        assert_eq!(id.node(), "INDIANA.HUB");
        let id = InstrumentId::parse("CAISO.TH_SP15_GEN-APND").unwrap();
        assert_eq!(id.node(), "TH_SP15_GEN-APND");
        assert_eq!(
            InstrumentId::new(Market::Isone, ".H.INTERNAL_HUB")
                .unwrap()
                .as_str(),
            "ISONE..H.INTERNAL_HUB"
        );
    }

    #[test]
    fn rejects_bad_ids_with_reasons() {
        for (text, reason) in [
            ("INDIANA", "expected `<ISO>.<node>`"),
            ("FOO.BAR", "not a known market"),
            ("miso.INDIANA.HUB", "write the market as `MISO`"),
            ("MISO.", "empty"),
            ("MISO. X", "spaces"),
        ] {
            let err = InstrumentId::parse(text).unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn kinds_parse_iso_spellings() {
        assert_eq!("Loadzone".parse::<LocationKind>(), Ok(LocationKind::Zone));
        assert_eq!(
            "Gennode".parse::<LocationKind>(),
            Ok(LocationKind::Generator)
        );
        assert!("lake".parse::<LocationKind>().is_err());
    }
}
