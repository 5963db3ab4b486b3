/** Bytes as `layerfs` prints them (binary units), for the figures drawn into the page's markup. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export const countText = (n: number) => n.toLocaleString('en-US');
export const percentText = (x: number) => `${(x * 100).toFixed(2)} %`;
