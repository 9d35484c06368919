/** uPlot charts that follow their container's width (phone to desktop). */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartHandle {
  setData(data: uPlot.AlignedData): void;
  destroy(): void;
}

/**
 * A chart in `container`, resized with it. The container should have an accessible name (the pages give it
 * `role="img"` and an `aria-label`, and put the numbers in a table next to it).
 */
export function responsiveChart(container: HTMLElement, options: Omit<uPlot.Options, 'width'>, data: uPlot.AlignedData): ChartHandle {
  const width = () => Math.max(240, Math.floor(container.clientWidth || 320));
  const plot = new uPlot({ ...options, width: width() }, data, container);
  const observer = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height: options.height });
  });
  observer.observe(container);
  return {
    setData: (d) => plot.setData(d),
    destroy: () => {
      observer.disconnect();
      plot.destroy();
    },
  };
}

export { uPlot };
