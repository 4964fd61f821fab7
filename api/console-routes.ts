import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerToken } from './auth';
import { callerOf, type GuardOptions } from './auth-guard';
import { ErrorBody, GUARD_REPLIES } from './api-schemas';
import { DEFAULT_SESSION_MS, SESSION_COOKIE } from './console-sessions';

/** The console's files: beside api/ in the source tree, and copied beside dist/api/ in the image. */
const ASSETS = join(__dirname, '..', 'console');

/**
 * The pages may run our script and style and call back to this origin,
 * nothing else: no inline script, no other origin, no framing, no forms
 * posting elsewhere.
 */
const CONSOLE_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
};

const SessionBody = z.object({
  identity: z.string(),
  csrfToken: z.string(),
  temporalUiUrl: z.string().optional(),
  namespace: z.string(),
});

/** What the console routes need beyond the guard's options. */
export interface ConsoleRouteOptions {
  guard: GuardOptions;
  temporalUiUrl?: string | undefined;
  namespace: string;
}

function sessionReply(reply: FastifyReply, identity: string, opts: ConsoleRouteOptions): z.infer<typeof SessionBody> {
  return { identity, csrfToken: reply.generateCsrf(), namespace: opts.namespace, ...(opts.temporalUiUrl ? { temporalUiUrl: opts.temporalUiUrl } : {}) };
}

/** The page, its script and style, and reading the current sign-in: open, since they hold no data. */
export function registerConsolePages(app: FastifyInstance, opts: ConsoleRouteOptions): void {
  const files = {
    html: readFileSync(join(ASSETS, 'index.html')),
    js: readFileSync(join(ASSETS, 'app.js')),
    css: readFileSync(join(ASSETS, 'app.css')),
  };
  const page = { helmet: { contentSecurityPolicy: CONSOLE_CSP }, schema: { hide: true } };
  app.get('/', page, (_req, reply) => reply.type('text/html; charset=utf-8').send(files.html));
  app.get('/console/app.js', page, (_req, reply) => reply.type('text/javascript; charset=utf-8').send(files.js));
  app.get('/console/app.css', page, (_req, reply) => reply.type('text/css; charset=utf-8').send(files.css));
  // Asked at every page load, so it is not counted as a failed authentication when nobody is signed in.
  app.withTypeProvider<ZodTypeProvider>().get('/console/session', {
    schema: { summary: 'The console session this browser holds, if any', response: { 200: SessionBody, 401: ErrorBody } },
  }, async (req, reply) => {
    const caller = req.headers.authorization ? undefined : await callerOf(req, opts.guard);
    if (!caller) return reply.code(401).send({ error: 'not signed in' });
    return sessionReply(reply, caller.identity, opts);
  });
}

/** Signing in and out, inside the guarded scope: sign-in presents the token as a bearer token, so it is limited like every other attempt. */
export function registerConsoleSessionRoutes(scope: FastifyInstance, opts: ConsoleRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.post('/console/session', {
    schema: { summary: 'Sign in to the console with the bearer token: sets an HttpOnly, SameSite=Strict session cookie', response: { 200: SessionBody, 400: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    const token = bearerToken(req.raw);
    if (!token || req.caller.channel !== 'http') return reply.code(400).send({ error: 'sign in with the token as a bearer token' });
    const id = opts.guard.sessions.open(token);
    reply.setCookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.protocol === 'https', maxAge: DEFAULT_SESSION_MS / 1000 });
    opts.guard.logger.info('console sign-in', { identity: req.caller.identity });
    return sessionReply(reply, req.caller.identity, opts);
  });
  app.delete('/console/session', {
    schema: { summary: 'Sign out of the console', response: { 200: z.object({ signedOut: z.literal(true) }), ...GUARD_REPLIES } },
  }, async (req, reply) => {
    const id = req.cookies[SESSION_COOKIE];
    if (id) opts.guard.sessions.close(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { signedOut: true as const };
  });
}
