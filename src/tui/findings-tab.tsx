import { Box, Text } from 'ink';
import type { FindingRow } from './tui-data';
import { fit, windowStart } from './format';
import { SEVERITY_STYLE, tint, useTheme } from './theme';

export interface FindingsTabProps {
  findings: FindingRow[];
  selected: number;
  width: number;
  height: number;
}

/** Findings, worst first: severity, rule, the connection and the title. */
export function FindingsTab({ findings, selected, width, height }: FindingsTabProps) {
  const theme = useTheme();
  const rows = Math.max(1, height - 1);
  const start = windowStart(selected, rows, findings.length);
  const ruleW = 24;
  const connW = Math.max(10, Math.min(44, width - ruleW - 16));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {'  '}{fit('SEV', 10)} {fit('RULE', ruleW)} {fit('CONNECTION', connW)} TITLE
      </Text>
      {findings.length === 0 ? <Text>no findings</Text> : null}
      {findings.slice(start, start + rows).map((f, i) => {
        const idx = start + i;
        const sel = idx === selected;
        const sev = SEVERITY_STYLE[f.severity] ?? SEVERITY_STYLE.info;
        return (
          <Text key={f.id} wrap="truncate" inverse={sel && theme.color}>
            {sel ? '› ' : '  '}
            <Text {...tint(theme, sev.color)}>{fit(`${sev.symbol} ${sev.label}`, 10)}</Text> {fit(f.rule, ruleW)}{' '}
            {fit(f.client ? `${f.client} → ${f.server}` : '-', connW)} {fit(f.title, Math.max(0, width - ruleW - connW - 16))}
          </Text>
        );
      })}
    </Box>
  );
}
