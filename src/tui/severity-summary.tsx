import { Text } from 'ink';
import { SEVERITIES, type Severity } from '../model/analysis';
import { SEVERITY_STYLE, tint, useTheme } from './theme';

export interface SeveritySummaryProps {
  counts: Record<Severity, number>;
}

/** Findings by severity on one line: symbol, name and count. */
export function SeveritySummary({ counts }: SeveritySummaryProps) {
  const theme = useTheme();
  return (
    <Text wrap="truncate">
      Findings:{' '}
      {SEVERITIES.map((s) => (
        <Text key={s} {...tint(theme, counts[s] > 0 ? SEVERITY_STYLE[s].color : undefined)}>
          {SEVERITY_STYLE[s].symbol} {s} {counts[s]}{'  '}
        </Text>
      ))}
    </Text>
  );
}
