import { createContext, useContext } from 'react';
import type { Severity } from '../model/analysis';

/** Every severity has a symbol as well as a colour, so the screen reads the same without colour. */
export const SEVERITY_STYLE: Record<Severity | 'none', { symbol: string; color: string; label: string }> = {
  critical: { symbol: '‼', color: 'magenta', label: 'critical' },
  high: { symbol: '▲', color: 'red', label: 'high' },
  medium: { symbol: '◆', color: 'yellow', label: 'medium' },
  low: { symbol: '▽', color: 'cyan', label: 'low' },
  info: { symbol: '·', color: 'gray', label: 'info' },
  none: { symbol: '✓', color: 'green', label: 'none' },
};

const RANK_TO_SEVERITY: (Severity | 'none')[] = ['none', 'info', 'low', 'medium', 'high', 'critical'];

export function severityOfRank(rank: number | null | undefined): Severity | 'none' {
  return RANK_TO_SEVERITY[rank ?? 0] ?? 'none';
}

export interface Theme {
  /** False under NO_COLOR (https://no-color.org): no colour attributes at all. */
  color: boolean;
}

/** NO_COLOR set to anything non-empty turns colour off. */
export function themeFromEnv(env: NodeJS.ProcessEnv = process.env): Theme {
  return { color: env.NO_COLOR === undefined || env.NO_COLOR === '' };
}

export const ThemeContext = createContext<Theme>({ color: true });

export function useTheme(): Theme {
  return useContext(ThemeContext);
}

/** Props for a Text: the colour only when colour is on. */
export function tint(theme: Theme, color: string | undefined): { color?: string } {
  return theme.color && color !== undefined ? { color } : {};
}
