import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatInstant } from "./query";

export interface ChartSeries {
  label: string;
  color: string;
  dash?: boolean;
}

/** A time-series chart (uPlot: canvas, smooth at 100k points). Drag to zoom,
 * double-click to reset; `range` shows the visible window to the caller. */
export function Chart(props: {
  data: [number[], ...(number | null)[][]];
  series: ChartSeries[];
  timeZone: string;
  height?: number;
  testId?: string;
  unit?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height: props.height ?? 360,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [
        { values: (_u, ticks) => ticks.map((t) => formatInstant(t, props.timeZone).slice(5, 16)) },
        { label: props.unit ?? "$/MWh" },
      ],
      series: [
        { value: (_u, v) => (v == null ? "" : formatInstant(v, props.timeZone)) },
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          dash: s.dash ? [6, 4] : undefined,
          spanGaps: false,
        })),
      ],
    };
    const plot = new uPlot(opts, props.data as uPlot.AlignedData, el);
    const resize = () => plot.setSize({ width: Math.max(320, el.clientWidth), height: props.height ?? 360 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [props.data, props.series, props.timeZone, props.height]);
  return <div ref={host} className="chart" data-testid={props.testId} data-points={props.data[0].length} />;
}

/** A tiny line for dashboard cards. */
export function Sparkline({ values }: { values: (number | null)[] }) {
  const v = values.filter((x): x is number => x !== null);
  if (v.length < 2) return <svg className="spark" aria-hidden="true" />;
  const min = Math.min(...v);
  const max = Math.max(...v);
  const span = max - min || 1;
  const pts = values
    .map((y, i) => (y === null ? null : `${(i / (values.length - 1)) * 100},${30 - ((y - min) / span) * 28 - 1}`))
    .filter(Boolean)
    .join(" ");
  return (
    <svg className="spark" viewBox="0 0 100 30" preserveAspectRatio="none" aria-label={`last ${values.length} values`}>
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1.2" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}
