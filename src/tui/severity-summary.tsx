import { Text } from 'ink';
import { SEVERITIES, type Severity } from '../model/analysis';
import { SEVERITY_STYLE, tint, useTheme } from './theme';

export interface SeveritySummaryProps {
  counts: Record<Severity, number>;
  /** Of those, findings repeated on the second view of a connection seen across a NAT. */
  natRepeats?: number;
  /** Findings accepted as risks (not in `counts`). */
  accepted?: number;
}

/** Findings by severity on one line: symbol, name and count. */
export function SeveritySummary({ counts, natRepeats = 0, accepted = 0 }: SeveritySummaryProps) {
  const theme = useTheme();
  return (
    <Text wrap="truncate">
      Findings:{' '}
      {SEVERITIES.map((s) => (
        <Text key={s} {...tint(theme, counts[s] > 0 ? SEVERITY_STYLE[s].color : undefined)}>
          {SEVERITY_STYLE[s].symbol} {s} {counts[s]}{'  '}
        </Text>
      ))}
      {/* Before the NAT note: the line is cut at the terminal's width, and this one changes what counts. */}
      {accepted > 0 ? <Text dimColor={theme.color}>(+{accepted} accepted) </Text> : null}
      {natRepeats > 0 ? <Text dimColor={theme.color}>({natRepeats} repeated across a NAT)</Text> : null}
    </Text>
  );
}
