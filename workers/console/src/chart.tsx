import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

/** A time-series line chart (uPlot), resized to its container; `x` are seconds since the epoch. */
export function TimeChart({ title, x, series, height = 220 }: { title: string; x: number[]; series: Series[]; height?: number }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const plot = new uPlot(
      {
        width: element.clientWidth || 320,
        height,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: x.length < 40 } }))],
        axes: [{}, { size: 56 }],
        legend: { show: true },
      },
      [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth || 320, height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, height]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={holder} role="img" aria-label={title} />
    </figure>
  );
}
