import type { FastifyInstance } from 'fastify';
import { Composer, LineCounter, Lexer, Parser, type CST } from 'yaml';
import { CausewayError } from '@causeway/shared';

/** Nesting of objects and lists a body may have; the documents need fewer than 10. */
const MAX_BODY_DEPTH = 64;
/** The body limit of every route that names none: one document is far smaller. */
export const DOCUMENT_BODY_BYTES = 1024 * 1024;
/** The body limit of routes whose body is a few fields (rollback, memberships, heartbeats). */
export const SMALL_BODY_BYTES = 16 * 1024;

export const yamlTypes = ['application/yaml', 'application/x-yaml', 'text/yaml'];

const tooDeep = (): CausewayError =>
  CausewayError.invalid([{ path: '(body)', message: `is nested more than ${MAX_BODY_DEPTH} levels deep (objects and lists)` }]);

/**
 * True when JSON text opens more than MAX_BODY_DEPTH objects or lists at once. Read before
 * parsing, so that a 64 MB body of `[` is refused without building 32 million arrays.
 */
function jsonTooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_BODY_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

interface Frame {
  readonly value: object;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number;
}

function pathOf(frame: Frame | undefined, key?: string | number): string {
  const parts: (string | number)[] = key === undefined ? [] : [key];
  for (let f = frame; f?.parent !== undefined; f = f.parent) parts.unshift(f.key);
  if (parts.length === 0) return '(body)';
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('').slice(0, 256);
}

/** Why PostgreSQL could not store this text, if it could not. */
function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains U+0000 (NUL), which cannot be stored';
  if (!text.isWellFormed()) return 'contains an unpaired UTF-16 surrogate, which cannot be stored';
  return undefined;
}

/**
 * Walks a parsed body without recursion: refuses nesting deeper than MAX_BODY_DEPTH (YAML
 * aliases can nest what the text does not) and text that cannot be stored.
 */
function checkParsedBody(body: unknown): void {
  if (typeof body === 'string') {
    const problem = unstorable(body);
    if (problem !== undefined) throw CausewayError.invalid([{ path: '(body)', message: problem }]);
  }
  if (typeof body !== 'object' || body === null) return;
  const stack: Frame[] = [{ value: body, depth: 1, parent: undefined, key: '' }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if (frame.depth > MAX_BODY_DEPTH) throw tooDeep();
    const entries: [string | number, unknown][] = Array.isArray(frame.value)
      ? frame.value.map((v: unknown, i) => [i, v])
      : Object.entries(frame.value);
    for (const [key, value] of entries) {
      const badKey = typeof key === 'string' ? unstorable(key) : undefined;
      if (badKey !== undefined) throw CausewayError.invalid([{ path: pathOf(frame), message: `has a field name that ${badKey}` }]);
      const badValue = typeof value === 'string' ? unstorable(value) : undefined;
      if (badValue !== undefined) throw CausewayError.invalid([{ path: pathOf(frame, key), message: badValue }]);
      if (typeof value === 'object' && value !== null) stack.push({ value, depth: frame.depth + 1, parent: frame, key });
    }
  }
}

function parseJson(text: string): unknown {
  // Tested, not trimmed: trimming would copy a 64 MB body.
  if (/^\s*$/.test(text)) return undefined;
  if (jsonTooDeep(text)) throw tooDeep();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw CausewayError.invalid([{ path: '(body)', message: `is not valid JSON: ${message}` }]);
  }
  checkParsedBody(value);
  return value;
}

/**
 * The CST of each YAML document, refused as soon as the parser's stack (one entry per
 * open collection, plus a few) is deeper than the limit: yaml's composer recurses, and its
 * parser slows down with depth.
 */
function yamlTokens(text: string, lines: LineCounter): CST.Token[] {
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > MAX_BODY_DEPTH + 3) throw tooDeep();
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

function parseYaml(text: string): unknown {
  const lines = new LineCounter();
  const tokens = yamlTokens(text, lines);
  let values: unknown[];
  try {
    const docs = [...new Composer().compose(tokens)];
    const error = docs.flatMap((d) => d.errors)[0];
    if (error !== undefined) {
      const { line, col } = lines.linePos(error.pos[0]);
      throw new Error(`${error.message.split('\n')[0] ?? ''} (line ${line}, column ${col})`);
    }
    values = docs.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw CausewayError.invalid([{ path: '(body)', message: `is not valid YAML: ${message.slice(0, 512)}` }]);
  }
  const value = values.length === 1 ? values[0] : values;
  checkParsedBody(value);
  return value;
}

/**
 * JSON and YAML bodies, parsed with a depth limit; nothing else is accepted (415). An
 * empty JSON body (a DELETE sent with a JSON content type) is no body, not an error.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(yamlTypes, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
