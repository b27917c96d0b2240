/** 0 = from the client (originator), 1 = from the server (responder). */
export type Direction = 0 | 1;
export const FROM_CLIENT: Direction = 0;
export const FROM_SERVER: Direction = 1;
