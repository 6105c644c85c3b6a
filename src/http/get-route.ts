import type { Express, Request, Response } from 'express';

export const PLAIN_TEXT = 'text/plain; charset=utf-8';

/**
 * Serves GET (and HEAD, which express answers with the GET handler and Node without the body) of
 * `path`; any other method gets 405 with the Allow header.
 */
export function getRoute(app: Express, path: string, handler: (req: Request, res: Response) => void | Promise<void>): void {
  app
    .route(path)
    .get(handler)
    .all((req, res) => {
      res.status(405).set('allow', 'GET, HEAD').type(PLAIN_TEXT).send(`${req.method} is not allowed on ${path}: use GET\n`);
    });
}
