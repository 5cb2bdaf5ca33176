//! Series dimensions: market runs, products and price components.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, unknown};

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $kind:literal, { $($(#[$vm:meta])* $var:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $var),+
        }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text),+ }
            }
        }

        // The schema lists the serialized names (a derive does not see
        // `rename`s built from macro fragments).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text $(| $alias)* => Ok($name::$var),)+
                    _ => Err(unknown($kind, s, &[$($text),+])),
                }
            }
        }
    };
}

named_enum!(
    /// Which market run (and so which settlement/publication stream) a price belongs to.
    ///
    /// Preliminary and final publications of the *same* run are vintages, except where
    /// the ISO publishes them as distinct products that users query separately
    /// (MISO DA ex-ante vs ex-post, RT prelim vs final).
    MarketRun, "market run", {
        /// Day-ahead (MISO ex-post, CAISO DAM).
        Da = "da" | "dam" | "day_ahead",
        /// Day-ahead ex-ante (MISO).
        DaExante = "da_exante",
        /// Real-time hourly, final.
        Rt = "rt" | "rt_final",
        /// Real-time hourly, preliminary.
        RtPrelim = "rt_prelim",
        /// Real-time pre-dispatch, 15-minute (CAISO RTPD).
        Rtpd = "rtpd",
        /// Real-time 5-minute (MISO 5-min ex-post, CAISO RTM interval).
        Rt5 = "rt5" | "rtm",
    }
);

impl MarketRun {
    /// Nominal interval length of the run, in minutes.
    pub fn interval_minutes(self) -> u32 {
        match self {
            MarketRun::Da | MarketRun::DaExante | MarketRun::Rt | MarketRun::RtPrelim => 60,
            MarketRun::Rtpd => 15,
            MarketRun::Rt5 => 5,
        }
    }
}

named_enum!(
    /// What is being sold; entitlements are granted per product.
    Product, "product", {
        /// Locational marginal prices.
        Lmp = "lmp",
        /// Load (actual and forecast).
        Load = "load",
        /// Generation by fuel.
        FuelMix = "fuel_mix",
        /// Forward curves.
        Curves = "curves",
        /// Fundamentals (weather, gas, storage).
        Fundamentals = "fundamentals",
    }
);

named_enum!(
    /// A component of a locational price. `energy + congestion + loss (+ ghg) = lmp`
    /// within rounding, in the ISO's sign convention.
    Component, "component", {
        /// The locational marginal price itself.
        Lmp = "lmp",
        /// System energy (MISO derived LMP−MCC−MLC; CAISO `MCE`).
        Energy = "energy" | "mce",
        /// Congestion (MISO `MCC`, CAISO `MCC`).
        Congestion = "congestion" | "mcc",
        /// Losses (MISO `MLC`, CAISO `MCL`).
        Loss = "loss" | "mlc" | "mcl",
        /// Greenhouse-gas (CAISO `MGHG`).
        Ghg = "ghg" | "mghg",
    }
);

/// Parses a comma-separated component list (`lmp,energy`); `all` or empty means every component.
pub fn parse_components(text: &str) -> Result<Vec<Component>> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("all") {
        return Ok(Component::ALL.to_vec());
    }
    let mut out: Vec<Component> = Vec::new();
    for part in text.split(',') {
        let c: Component = part.parse()?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The component values of one interval; absent components are `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Components {
    /// LMP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lmp: Option<f64>,
    /// Energy component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<f64>,
    /// Congestion component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion: Option<f64>,
    /// Loss component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Greenhouse-gas component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ghg: Option<f64>,
}

impl Components {
    /// The value of one component.
    pub fn get(&self, c: Component) -> Option<f64> {
        match c {
            Component::Lmp => self.lmp,
            Component::Energy => self.energy,
            Component::Congestion => self.congestion,
            Component::Loss => self.loss,
            Component::Ghg => self.ghg,
        }
    }

    /// Sets one component.
    pub fn set(&mut self, c: Component, v: Option<f64>) {
        match c {
            Component::Lmp => self.lmp = v,
            Component::Energy => self.energy = v,
            Component::Congestion => self.congestion = v,
            Component::Loss => self.loss = v,
            Component::Ghg => self.ghg = v,
        }
    }

    /// Present components with their values, in [`Component::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Component, f64)> + '_ {
        Component::ALL
            .iter()
            .filter_map(|c| self.get(*c).map(|v| (*c, v)))
    }

    /// Number of present components.
    pub fn count(&self) -> usize {
        [self.lmp, self.energy, self.congestion, self.loss, self.ghg]
            .iter()
            .filter(|v| v.is_some())
            .count()
    }

    /// Keeps only the listed components.
    pub fn retain(&self, keep: &[Component]) -> Components {
        let mut out = Components::default();
        for c in keep {
            out.set(*c, self.get(*c));
        }
        out
    }

    /// `lmp − (energy + congestion + loss + ghg)` when the LMP and at least
    /// energy are present; a check that the components add up.
    pub fn residual(&self) -> Option<f64> {
        let lmp = self.lmp?;
        let energy = self.energy?;
        Some(
            lmp - energy
                - self.congestion.unwrap_or(0.0)
                - self.loss.unwrap_or(0.0)
                - self.ghg.unwrap_or(0.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_runs_parse_and_print() {
        for r in MarketRun::ALL {
            assert_eq!(r.as_str().parse::<MarketRun>().unwrap(), *r);
        }
        assert_eq!("DAM".parse::<MarketRun>().unwrap(), MarketRun::Da);
        assert_eq!(MarketRun::Rtpd.interval_minutes(), 15);
        let e = "rt15".parse::<MarketRun>().unwrap_err().to_string();
        assert!(e.contains("da, da_exante, rt, rt_prelim, rtpd, rt5"), "{e}");
    }

    #[test]
    fn component_lists() {
        assert_eq!(parse_components("").unwrap().len(), 5);
        assert_eq!(
            parse_components("lmp,MCC,lmp").unwrap(),
            vec![Component::Lmp, Component::Congestion]
        );
        assert!(parse_components("lmp,price").is_err());
    }

    #[test]
    fn residual_checks_the_sum() {
        let c = Components {
            lmp: Some(30.0),
            energy: Some(29.0),
            congestion: Some(0.5),
            loss: Some(0.5),
            ghg: None,
        };
        assert_eq!(c.residual(), Some(0.0));
        assert_eq!(c.count(), 4);
        assert_eq!(c.retain(&[Component::Lmp]).count(), 1);
    }
}
