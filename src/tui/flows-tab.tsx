import { Box, Text } from 'ink';
import type { FlowQuery, FlowRow } from './tui-data';
import { clean, fit, formatBytes, formatTime, windowStart } from './format';
import { SEVERITY_STYLE, tint, useTheme } from './theme';

export interface FlowsTabProps {
  flows: FlowRow[];
  total: number;
  query: FlowQuery;
  selected: number;
  width: number;
  height: number;
}

/** The scrollable flow table with its filter and sort order. */
export function FlowsTab({ flows, total, query, selected, width, height }: FlowsTabProps) {
  const theme = useTheme();
  const rows = Math.max(1, height - 2);
  const start = windowStart(selected, rows, flows.length);
  const addrW = width >= 100 ? 21 : 18;
  const pathW = width >= 100 ? 20 : 15;
  // Severity, endpoints, app, path and bytes always; the SNI takes what is left, the time only when there is room.
  const rest = width - (2 + 4 + (addrW + 1) * 2 + 6 + (pathW + 1) + 10);
  const timeW = rest >= 25 ? 8 : 0;
  const sniW = Math.max(0, rest - (timeW > 0 ? timeW + 1 : 0));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        {total} flows{query.filter ? ` matching "${clean(query.filter, 40)}"` : ''} · sort {query.sort} {query.desc ? '↓' : '↑'}
        {total > flows.length ? ` · first ${flows.length} shown` : ''}
      </Text>
      <Text bold wrap="truncate">
        {'  '}{fit('SEV', 3)} {fit('CLIENT', addrW)} {fit('SERVER', addrW)} {fit('APP', 5)} {fit('PATH', pathW)} {fit('BYTES', 9)}{' '}
        {fit('SNI', sniW)}{timeW > 0 ? ` ${fit('TIME', timeW)}` : ''}
      </Text>
      {flows.slice(start, start + rows).map((f, i) => {
        const idx = start + i;
        const sel = idx === selected;
        const sev = SEVERITY_STYLE[f.severity ?? 'none'] ?? SEVERITY_STYLE.none;
        return (
          <Text key={f.id} wrap="truncate" inverse={sel && theme.color}>
            {sel ? '› ' : '  '}
            <Text {...tint(theme, sev.color)}>{fit(sev.symbol, 3)}</Text> {fit(f.client, addrW)} {fit(f.server, addrW)} {fit(f.app, 5)}{' '}
            {fit(f.path, pathW)} {fit(formatBytes(f.bytes), 9)} {fit(f.sni, sniW)}{timeW > 0 ? ` ${fit(formatTime(f.firstTs), timeW)}` : ''}
          </Text>
        );
      })}
    </Box>
  );
}
