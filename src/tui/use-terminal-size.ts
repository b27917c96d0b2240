import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

/** Smallest size laid out for (the layout is designed for 80×24 and up; below this it is cut). */
export const MIN_COLUMNS = 40;
export const MIN_ROWS = 12;

/** The terminal's size, following resizes. */
export function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  // A stream that is no terminal reports no size: lay out for 80×24.
  const read = () => ({ columns: Math.max(MIN_COLUMNS, stdout.columns || 80), rows: Math.max(MIN_ROWS, stdout.rows || 24) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
