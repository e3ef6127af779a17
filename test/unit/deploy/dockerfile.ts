/** gpu-service/Dockerfile parsed once with dockerfile-ast, for the deploy tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const DOCKERFILE_PATH = join(ROOT, 'gpu-service', 'Dockerfile');
export const dockerfile = DockerfileParser.parse(readFileSync(DOCKERFILE_PATH, 'utf8'));

/** Sources the Dockerfile COPYs from the build context (COPY without --from), as context paths. */
export function contextCopySources(): string[] {
  return dockerfile.getCOPYs()
    .filter((copy) => copy.getFromFlag() === null)
    .flatMap((copy) => copy.getArguments().slice(0, -1).map((arg) => arg.getValue().replace(/^\.\//, '').replace(/\/$/, '')));
}

/** The ARG instructions before the first FROM: name -> default value (null where none). */
export function globalArgs(): Map<string, string | null> {
  return new Map(dockerfile.getInitialARGs().map((arg) => [arg.getProperty()!.getName(), arg.getProperty()!.getValue()]));
}
