/** Colours only on a terminal, and never when NO_COLOR is set. */
export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !!stream.isTTY && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;

export function paint(colour: keyof typeof codes, text: string, stream?: NodeJS.WriteStream): string {
  return useColour(stream) ? `\x1b[${codes[colour]}m${text}\x1b[0m` : text;
}
