import { Box, Text } from 'ink';
import type { Severity } from '../model/analysis';
import type { PathRow } from './tui-data';
import { fit, formatBytes, formatCount } from './format';
import { HubSpoke } from './hub-spoke';
import { SeveritySummary } from './severity-summary';
import { SEVERITY_STYLE, severityOfRank, tint, useTheme } from './theme';

export interface OverviewTabProps {
  paths: PathRow[];
  severityCounts: Record<Severity, number>;
  /** Findings repeated on the second view of a connection seen across a NAT. */
  natRepeats?: number;
  accepted?: number;
  width: number;
  height: number;
}

/** Findings by severity, the paths with their counts and bytes, and the hub-and-spoke view. */
export function OverviewTab({ paths, severityCounts, natRepeats, accepted, width, height }: OverviewTabProps) {
  const theme = useTheme();
  const hubHeight = Math.min(6, Math.max(0, height - 4 - paths.length));
  const pathRows = Math.max(0, height - 3 - (hubHeight > 0 ? hubHeight + 1 : 0));
  const nameW = Math.max(12, Math.min(27, width - 40));
  return (
    <Box flexDirection="column" width={width}>
      <SeveritySummary counts={severityCounts} natRepeats={natRepeats} accepted={accepted} />
      <Text bold wrap="truncate">
        {fit('PATH', nameW)} {fit('CONNS', 8)} {fit('BYTES', 10)} {fit('FINDINGS', 9)} WORST
      </Text>
      {paths.length === 0 ? <Text dimColor={theme.color}>no flows yet</Text> : null}
      {paths.slice(0, pathRows).map((p) => {
        const sev = SEVERITY_STYLE[severityOfRank(p.worstRank)];
        return (
          <Text key={p.path} wrap="truncate">
            {fit(p.path, nameW)} {fit(formatCount(p.flows), 8)} {fit(formatBytes(p.bytes), 10)} {fit(formatCount(p.findings ?? 0), 9)}{' '}
            <Text {...tint(theme, sev.color)}>
              {sev.symbol} {sev.label}
            </Text>
          </Text>
        );
      })}
      {hubHeight > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <HubSpoke paths={paths} width={width} height={hubHeight} />
        </Box>
      ) : null}
    </Box>
  );
}
