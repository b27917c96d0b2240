import { Box, Text } from 'ink';
import type { FindingRow } from './tui-data';
import { clean, formatTime } from './format';
import { SEVERITY_STYLE, tint, useTheme } from './theme';

export interface FindingDetailProps {
  finding: FindingRow;
  width: number;
  height: number;
}

/** One finding: what, where, the evidence and what to do about it. */
export function FindingDetail({ finding: f, width, height }: FindingDetailProps) {
  const theme = useTheme();
  const sev = SEVERITY_STYLE[f.severity] ?? SEVERITY_STYLE.info;
  const textW = Math.max(20, width - 2);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold wrap="truncate">
        <Text {...tint(theme, sev.color)}>
          {sev.symbol} {sev.label}
        </Text>{' '}
        {clean(f.rule, 40)} — {clean(f.title, textW)}
      </Text>
      <Text wrap="truncate">
        connection: {f.client ? `${clean(f.client, 60)} → ${clean(f.server, 60)}` : '-'} path: {clean(f.path ?? '-', 40)} at{' '}
        {formatTime(f.ts)}
      </Text>
      <Text bold>Evidence</Text>
      <Text wrap="wrap">{clean(f.evidence, 1000)}</Text>
      <Text bold>Recommendation</Text>
      <Text wrap="wrap">{clean(f.recommendation, 1000)}</Text>
      <Text wrap="truncate">reference: {clean(f.reference, 300)}</Text>
    </Box>
  );
}
