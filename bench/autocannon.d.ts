/** The part of autocannon's API the web benchmark uses (the package ships no types). */
declare module 'autocannon' {
  interface Latency { p50: number; p90: number; p97_5: number; p99: number; average: number; max: number }
  interface Result { latency: Latency; requests: { average: number; total: number }; non2xx: number; errors: number }
  function autocannon(opts: { url: string; connections?: number; duration?: number; amount?: number }): Promise<Result>;
  export default autocannon;
}
