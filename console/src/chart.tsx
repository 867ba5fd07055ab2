/** A uPlot line chart that redraws when its data changes; sized to its container. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a3069', '#57606a'];

export function LineChart(props: { title: string; labels: string[]; data: uPlot.AlignedData; unit: string; description: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = props.labels.join('|');

  useEffect(() => {
    if (!box.current) return;
    const options: uPlot.Options = {
      title: props.title,
      width: Math.max(300, box.current.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { label: props.unit, size: 60 }],
      series: [{}, ...props.labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2 }))],
    };
    plot.current = new uPlot(options, props.data, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the series change; data updates go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);

  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={`${props.title}: ${props.description}`} />
    </figure>
  );
}
