import { Box, Text } from 'ink';
import { tint, useTheme } from './theme';

export interface TabBarProps {
  tabs: string[];
  active: number;
  width: number;
}

/** The tab names with their number keys; the active one is marked with brackets, not only colour. */
export function TabBar({ tabs, active, width }: TabBarProps) {
  const theme = useTheme();
  return (
    <Box width={width}>
      <Text wrap="truncate">
        {tabs.map((t, i) => (
          <Text key={t} bold={i === active} {...tint(theme, i === active ? 'cyan' : undefined)}>
            {i === active ? `[${i + 1} ${t}]` : ` ${i + 1} ${t} `}{' '}
          </Text>
        ))}
      </Text>
    </Box>
  );
}
