//! [`ObservationBatch`]: many observations that share instruments and sources.
//!
//! A parsed payload is tens of thousands of rows that share a handful of
//! instruments, one source and one vintage. As [`Observation`] rows each one
//! carries two shared pointers (instrument and source), whose reference counts
//! are bumped when the row is made and again when it is dropped, and 176 bytes
//! of mostly-`Option` padding. A batch keeps each instrument and source once;
//! its rows refer to them by index and hold component values as plain `f64`s
//! with a presence mask: 104 bytes a row in one allocation, no reference
//! counting per row. Checks and the store's Arrow append read rows in place.
//!
//! Rows go in with [`ObservationBatch::push`] (or [`push_row`](ObservationBatch::push_row)
//! for parsers that already hold indices) and come out as owned rows with
//! [`get`](ObservationBatch::get) / [`iter`](ObservationBatch::iter) / `Vec::from`.
//! Two batches are equal when their rows are, whatever their dictionaries.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{Component, Components, InstrumentId, MarketRun, Observation, Provenance};

/// One row, by index into the batch's instruments and sources.
#[derive(Debug, Clone, Copy)]
struct Row {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    vintage: DateTime<Utc>,
    id: u32,
    source: u32,
    run: MarketRun,
    /// Bit `c` set: component `Component::ALL[c]` is present.
    present: u8,
    /// In [`Component::ALL`] order; 0 where absent.
    values: [f64; 5],
    row: Option<u64>,
}

/// Observations sharing instruments and sources; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct ObservationBatch {
    /// Instruments the rows refer to (an instrument may appear more than once).
    ids: Vec<InstrumentId>,
    /// Sources the rows refer to.
    sources: Vec<Arc<str>>,
    rows: Vec<Row>,
    /// Component values present in all rows.
    values: usize,
}

/// Values of one component list, with its presence mask.
#[inline]
fn split(v: &Components) -> ([f64; 5], u8) {
    let parts = [v.lmp, v.energy, v.congestion, v.loss, v.ghg];
    let mut mask = 0u8;
    let mut out = [0.0; 5];
    for (c, p) in parts.iter().enumerate() {
        if let Some(x) = p {
            out[c] = *x;
            mask |= 1 << c;
        }
    }
    (out, mask)
}

impl ObservationBatch {
    /// An empty batch with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            ids: Vec::new(),
            sources: Vec::new(),
            rows: Vec::with_capacity(rows),
            values: 0,
        }
    }

    /// Number of rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The index of `id` for [`push_row`](Self::push_row): the last added
    /// instrument when it is the same, else a new entry.
    pub fn add_instrument(&mut self, id: &InstrumentId) -> u32 {
        match self.ids.last() {
            Some(last) if last == id => (self.ids.len() - 1) as u32,
            _ => {
                self.ids.push(id.clone());
                (self.ids.len() - 1) as u32
            }
        }
    }

    /// The index of `source` for [`push_row`](Self::push_row): the last added
    /// source when it is the same, else a new entry.
    pub fn add_source(&mut self, source: &Arc<str>) -> u32 {
        match self.sources.last() {
            Some(last) if Arc::ptr_eq(last, source) || last == source => {
                (self.sources.len() - 1) as u32
            }
            _ => {
                self.sources.push(source.clone());
                (self.sources.len() - 1) as u32
            }
        }
    }

    /// Appends a row whose instrument and source were added before
    /// ([`add_instrument`](Self::add_instrument), [`add_source`](Self::add_source)).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn push_row(
        &mut self,
        instrument: u32,
        market_run: MarketRun,
        interval_start: DateTime<Utc>,
        interval_end: DateTime<Utc>,
        values: &Components,
        vintage: DateTime<Utc>,
        source: u32,
        row: Option<u64>,
    ) {
        assert!(
            (instrument as usize) < self.ids.len() && (source as usize) < self.sources.len(),
            "push_row: instrument or source index not added"
        );
        let (values, present) = split(values);
        self.values += present.count_ones() as usize;
        self.rows.push(Row {
            start: interval_start,
            end: interval_end,
            vintage,
            id: instrument,
            source,
            run: market_run,
            present,
            values,
            row,
        });
    }

    /// Appends an owned row.
    pub fn push(&mut self, o: Observation) {
        let i = self.add_instrument(&o.instrument_id);
        let s = self.add_source(&o.provenance.source);
        self.push_row(
            i,
            o.market_run,
            o.interval_start,
            o.interval_end,
            &o.values,
            o.vintage,
            s,
            o.provenance.row,
        );
    }

    /// Appends every row of `other`.
    pub fn extend(&mut self, other: ObservationBatch) {
        let (di, ds) = (self.ids.len() as u32, self.sources.len() as u32);
        self.ids.extend(other.ids);
        self.sources.extend(other.sources);
        self.values += other.values;
        self.rows.extend(other.rows.into_iter().map(|mut r| {
            r.id += di;
            r.source += ds;
            r
        }));
    }

    /// The instruments rows refer to, by index ([`instrument_index`](Self::instrument_index)).
    /// One instrument may have several entries, and after [`filter`](Self::filter)
    /// some entries may have no rows left.
    pub fn instruments(&self) -> &[InstrumentId] {
        &self.ids
    }

    /// Row `i`'s index into [`instruments`](Self::instruments).
    #[inline]
    pub fn instrument_index(&self, i: usize) -> u32 {
        self.rows[i].id
    }

    /// Row `i`'s instrument.
    #[inline]
    pub fn instrument(&self, i: usize) -> &InstrumentId {
        &self.ids[self.rows[i].id as usize]
    }

    /// Row `i`'s market run.
    #[inline]
    pub fn market_run(&self, i: usize) -> MarketRun {
        self.rows[i].run
    }

    /// Row `i`'s interval start.
    #[inline]
    pub fn interval_start(&self, i: usize) -> DateTime<Utc> {
        self.rows[i].start
    }

    /// Row `i`'s interval end.
    #[inline]
    pub fn interval_end(&self, i: usize) -> DateTime<Utc> {
        self.rows[i].end
    }

    /// Row `i`'s vintage.
    #[inline]
    pub fn vintage(&self, i: usize) -> DateTime<Utc> {
        self.rows[i].vintage
    }

    /// Row `i`'s values in [`Component::ALL`] order (0 where absent) and its
    /// presence mask (bit `c as u8` set when component `c` is present).
    #[inline]
    pub fn raw_values(&self, i: usize) -> (&[f64; 5], u8) {
        let r = &self.rows[i];
        (&r.values, r.present)
    }

    /// Row `i`'s value of one component.
    #[inline]
    pub fn value(&self, i: usize, c: Component) -> Option<f64> {
        let r = &self.rows[i];
        (r.present & (1 << c as u8) != 0).then_some(r.values[c as usize])
    }

    /// Row `i`'s component values.
    #[inline]
    pub fn components(&self, i: usize) -> Components {
        let r = &self.rows[i];
        let at = |c: usize| (r.present & (1 << c) != 0).then_some(r.values[c]);
        Components {
            lmp: at(0),
            energy: at(1),
            congestion: at(2),
            loss: at(3),
            ghg: at(4),
        }
    }

    /// Row `i`'s source.
    #[inline]
    pub fn source(&self, i: usize) -> &Arc<str> {
        &self.sources[self.rows[i].source as usize]
    }

    /// Row `i`'s line or record in its source.
    #[inline]
    pub fn source_row(&self, i: usize) -> Option<u64> {
        self.rows[i].row
    }

    /// Number of component values present in all rows.
    pub fn value_count(&self) -> usize {
        self.values
    }

    /// Row `i` as an owned observation.
    pub fn get(&self, i: usize) -> Observation {
        let r = &self.rows[i];
        Observation {
            instrument_id: self.ids[r.id as usize].clone(),
            market_run: r.run,
            interval_start: r.start,
            interval_end: r.end,
            values: self.components(i),
            vintage: r.vintage,
            provenance: Provenance {
                source: self.sources[r.source as usize].clone(),
                row: r.row,
            },
        }
    }

    /// Every row as an owned observation, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Observation> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The rows for which `keep(i)` holds, in order (dictionaries are kept).
    pub fn filter(&self, mut keep: impl FnMut(usize) -> bool) -> ObservationBatch {
        let rows: Vec<Row> = (0..self.len())
            .filter(|i| keep(*i))
            .map(|i| self.rows[i])
            .collect();
        ObservationBatch {
            ids: self.ids.clone(),
            sources: self.sources.clone(),
            values: rows.iter().map(|r| r.present.count_ones() as usize).sum(),
            rows,
        }
    }

    /// Checks row `i` like [`Observation::validate`] (same messages).
    pub fn validate_row(&self, i: usize) -> crate::Result<()> {
        let r = &self.rows[i];
        crate::observation::validate_parts(
            &self.ids[r.id as usize],
            r.start,
            r.end,
            &self.components(i),
        )
    }

    /// Whether each instrument's rows form one contiguous group that strictly
    /// increases in (market run, interval start, vintage) — what parsers
    /// usually emit. Then no (instrument, run, start, vintage) key repeats (to
    /// the microsecond, what a store keeps), and checks for repeated keys
    /// need no hash set. One pass; one set insert per group.
    pub fn keys_grouped_and_increasing(&self) -> bool {
        use chrono::Timelike;
        let mut groups: std::collections::HashSet<&str, crate::hash::Fx> = Default::default();
        let mut prev: Option<(u32, (MarketRun, i64, i64))> = None;
        // Starts fall on a few days: the day's microseconds once per day.
        let mut day: Option<(chrono::NaiveDate, i64)> = None;
        let mut start_micros = |t: DateTime<Utc>| {
            let naive = t.naive_utc();
            let date = naive.date();
            let base = match day {
                Some((d, us)) if d == date => us,
                _ => {
                    let us = date
                        .and_time(chrono::NaiveTime::MIN)
                        .and_utc()
                        .timestamp_micros();
                    day = Some((date, us));
                    us
                }
            };
            let time = naive.time();
            base + i64::from(time.num_seconds_from_midnight()) * 1_000_000
                + i64::from(time.nanosecond() / 1_000)
        };
        // Rows of a payload usually share one vintage: convert it once.
        let mut vintage: Option<(DateTime<Utc>, i64)> = None;
        for r in &self.rows {
            let v = match vintage {
                Some((t, us)) if t == r.vintage => us,
                _ => {
                    let us = r.vintage.timestamp_micros();
                    vintage = Some((r.vintage, us));
                    us
                }
            };
            let k = (r.run, start_micros(r.start), v);
            match prev {
                Some((p, pk)) if p == r.id || self.ids[p as usize] == self.ids[r.id as usize] => {
                    if pk >= k {
                        return false;
                    }
                }
                _ => {
                    if !groups.insert(self.ids[r.id as usize].as_str()) {
                        return false;
                    }
                }
            }
            prev = Some((r.id, k));
        }
        true
    }
}

impl PartialEq for ObservationBatch {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl From<Vec<Observation>> for ObservationBatch {
    fn from(rows: Vec<Observation>) -> Self {
        let mut b = ObservationBatch::with_capacity(rows.len());
        for o in rows {
            b.push(o);
        }
        b
    }
}

impl FromIterator<Observation> for ObservationBatch {
    fn from_iter<T: IntoIterator<Item = Observation>>(iter: T) -> Self {
        let mut b = ObservationBatch::default();
        for o in iter {
            b.push(o);
        }
        b
    }
}

impl From<ObservationBatch> for Vec<Observation> {
    fn from(b: ObservationBatch) -> Self {
        b.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn at(id: &str, h: i64, source: &str) -> Observation {
        let t0: DateTime<Utc> = "2025-03-01T05:00:00Z".parse().unwrap();
        Observation {
            instrument_id: InstrumentId::parse(id).unwrap(),
            market_run: MarketRun::Da,
            interval_start: t0 + Duration::hours(h),
            interval_end: t0 + Duration::hours(h + 1),
            values: Components {
                lmp: Some(20.0 + h as f64),
                energy: (h % 2 == 0).then_some(19.0),
                congestion: Some(-0.0),
                loss: None,
                ghg: (h == 4).then_some(f64::NAN),
            },
            vintage: t0 - Duration::hours(10),
            provenance: Provenance::new(source, (h != 2).then_some(h as u64 + 5)),
        }
    }

    #[test]
    fn rows_round_trip_through_columns() {
        let rows = vec![
            at("MISO.A", 0, "f1"),
            at("MISO.A", 1, "f1"),
            at("MISO.B", 2, "f1"),
            at("MISO.A", 3, "f2"),
            at("CAISO.X", 4, "f2"),
        ];
        let b = ObservationBatch::from(rows.clone());
        assert_eq!(b.len(), 5);
        // Consecutive repeats share one entry; a returning one gets another.
        assert_eq!(b.instruments().len(), 4);
        for (i, o) in rows.iter().enumerate() {
            let got = b.get(i);
            // NaN is not equal to itself: compare bits.
            assert_eq!(
                got.values.ghg.map(f64::to_bits),
                o.values.ghg.map(f64::to_bits)
            );
            assert_eq!(
                got.values.congestion.map(f64::to_bits),
                Some((-0.0f64).to_bits())
            );
            assert_eq!(got.instrument_id, o.instrument_id);
            assert_eq!(got.provenance, o.provenance);
            assert_eq!(got.values.count(), o.values.count());
            assert_eq!(b.validate_row(i).is_ok(), o.validate().is_ok());
        }
        assert_eq!(
            b.value_count(),
            rows.iter().map(|o| o.values.count()).sum::<usize>()
        );
        let back: Vec<Observation> = b.iter().collect();
        assert_eq!(back[..3], rows[..3]);
        // Filtering keeps order; equality is by rows, not by dictionaries.
        let odd = b.filter(|i| i % 2 == 1);
        let want: ObservationBatch = [rows[1].clone(), rows[3].clone()].into_iter().collect();
        assert_eq!(odd.len(), 2);
        assert_eq!(odd, want);
        assert_ne!(odd, b);
        // Extending re-bases the indices.
        let mut two = ObservationBatch::from(rows[..2].to_vec());
        two.extend(ObservationBatch::from(rows[2..3].to_vec()));
        assert_eq!(two, ObservationBatch::from(rows[..3].to_vec()));
        assert_eq!(two.instrument(2).as_str(), "MISO.B");
    }

    #[test]
    fn grouped_check_reads_microseconds_like_chrono() {
        // Instants on several days, within a day, before 1970 and a leap
        // second: a batch is grouped exactly when its microseconds increase.
        let base = at("MISO.A", 0, "s");
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|t| t.and_utc());
        let instants: Vec<DateTime<Utc>> = [
            "1969-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00Z",
            "2016-12-31T23:59:59.999Z",
            "2017-01-01T00:00:00.4Z",
            "2017-01-01T00:00:00.6Z",
            "2025-03-01T05:00:00Z",
            "2025-03-02T04:59:59.000001Z",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .chain(leap)
        .collect();
        for a in &instants {
            for b in &instants {
                let rows: Vec<Observation> = [a, b]
                    .iter()
                    .map(|t| {
                        let mut o = base.clone();
                        o.interval_start = **t;
                        o.interval_end = **t + Duration::hours(1);
                        o
                    })
                    .collect();
                let want = a.timestamp_micros() < b.timestamp_micros();
                assert_eq!(
                    ObservationBatch::from(rows).keys_grouped_and_increasing(),
                    want,
                    "{a} then {b}"
                );
            }
        }
    }

    #[test]
    fn grouped_and_increasing_keys() {
        let shifted = |f: fn(&mut Observation)| {
            let mut b = at("MISO.A", 0, "s");
            f(&mut b);
            vec![at("MISO.A", 0, "s"), b]
        };
        let cases: Vec<(Vec<Observation>, bool)> = vec![
            (vec![], true),
            (
                vec![
                    at("MISO.A", 0, "s"),
                    at("MISO.A", 1, "s"),
                    at("MISO.B", 0, "s"),
                    at("MISO.B", 5, "s"),
                ],
                true,
            ),
            // A repeat, a step back, a group that comes back: not provably unique.
            (vec![at("MISO.A", 0, "s"), at("MISO.A", 0, "s")], false),
            (vec![at("MISO.A", 1, "s"), at("MISO.A", 0, "s")], false),
            (
                vec![
                    at("MISO.A", 0, "s"),
                    at("MISO.B", 0, "s"),
                    at("MISO.A", 1, "s"),
                ],
                false,
            ),
            // The same instrument through two sources: one group in two entries.
            (vec![at("MISO.A", 0, "s"), at("MISO.A", 1, "t")], true),
            // Same interval, a later vintage: a distinct key.
            (shifted(|b| b.vintage += Duration::hours(1)), true),
            // A microsecond apart: distinct; a nanosecond apart: equal to the
            // microsecond (what a store keeps), so not provably distinct.
            (
                shifted(|b| b.interval_start += Duration::microseconds(1)),
                true,
            ),
            (
                shifted(|b| b.interval_start += Duration::nanoseconds(1)),
                false,
            ),
            (shifted(|b| b.vintage += Duration::nanoseconds(1)), false),
        ];
        for (rows, want) in cases {
            assert_eq!(
                ObservationBatch::from(rows.clone()).keys_grouped_and_increasing(),
                want,
                "{rows:?}"
            );
        }
        // Two entries of one instrument, back to back, are one group.
        let mut b = ObservationBatch::default();
        let s = b.add_source(&Arc::from("s"));
        let id = InstrumentId::parse("MISO.A").unwrap();
        let o = at("MISO.A", 0, "s");
        for h in 0..2 {
            let i = if h == 0 {
                b.add_instrument(&id)
            } else {
                b.ids.push(id.clone());
                1
            };
            let t = o.interval_start + Duration::hours(h);
            b.push_row(
                i,
                o.market_run,
                t,
                t + Duration::hours(1),
                &o.values,
                o.vintage,
                s,
                None,
            );
        }
        assert_eq!(b.instruments().len(), 2);
        assert!(b.keys_grouped_and_increasing());
    }
}
