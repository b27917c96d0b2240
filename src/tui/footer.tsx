import { Box, Text } from 'ink';
import { clean } from './format';
import { tint, useTheme } from './theme';

export interface FooterProps {
  width: number;
  /** Key hints for the current view. */
  hints: string;
  /** Filter being typed (null when not editing). */
  editing: string | null;
}

/** Keys of the current view, or the filter prompt while `/` is active. */
export function Footer({ width, hints, editing }: FooterProps) {
  const theme = useTheme();
  if (editing !== null) {
    return (
      <Box width={width}>
        <Text wrap="truncate" {...tint(theme, 'yellow')}>
          filter: {clean(editing, 100)}█ (Enter apply · Esc cancel)
        </Text>
      </Box>
    );
  }
  return (
    <Box width={width}>
      <Text wrap="truncate" dimColor={theme.color}>
        {hints}
      </Text>
    </Box>
  );
}
