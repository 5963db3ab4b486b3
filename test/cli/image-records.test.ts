import * as path from 'path';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { fileImage, HandLayout } from '../image/image-forms';
import { layerfs } from './run-cli';

/** Issue 19, "Image records": names never clobber, passing reads record nothing, image rm and image tag. */
describeIf(['tar'])('layerfs image import --name/--replace, image rm, image tag; diff/create/layers of an image path', () => {
  const tmp = useTempDir('cli-image-records');
  const layout = (name: string, files: Record<string, string>) => {
    const l = new HandLayout(path.join(tmp(), name));
    return { dir: l.dir, ...fileImage(l, files, 'latest') };
  };

  test('an explicit name is never replaced by an implicit import, nor by another --name without --replace', () => {
    const store = path.join(tmp(), 'store');
    const run = (...a: string[]) => layerfs(['--store', store, '--json', ...a]);
    const a = layout('a', { a: 'a' });
    const b = layout('b', { b: 'b' });
    expect(run('image', 'import', a.dir, '--name', 'app').code).toBe(0);
    const names = () => run('image', 'ls').json().images.map((i: { name: string }) => i.name);
    // diff, create and layers read image paths on the way and record nothing
    expect(run('diff', a.dir, b.dir).json().changes.map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`)).toEqual(['D /a', 'A /b']);
    const c = run('create', b.dir, '--driver', 'copy');
    expect(c.code).toBe(0);
    expect(run('layers', b.dir).code).toBe(0);
    expect(names()).toEqual(['app']);
    expect(run('rm', c.json().id).code).toBe(0);
    // gc --layers removes what no image reaches: b's layer, not app's
    expect(run('gc', '--layers').json().layers).toEqual([b.diffId]);
    expect(run('ls').json().layers.map((l: { chainId: string }) => l.chainId)).toEqual([a.diffId]);
    const made = run('create', 'app', '--driver', 'copy');
    expect(made.code).toBe(0);
    expect(run('rm', made.json().id).code).toBe(0);
    // --name of an existing image
    const clash = run('image', 'import', b.dir, '--name', 'app');
    expect(clash.code).toBe(1);
    expect(clash.json().error).toMatchObject({ code: 'LAYERFS_EXISTS' });
    expect(run('image', 'ls').json().images[0].manifestDigest).toBe(a.digest);
    expect(run('image', 'import', a.dir, '--name', 'app').code).toBe(0); // the same image: no conflict
    const replaced = run('image', 'import', b.dir, '--name', 'app', '--replace');
    expect(replaced.code).toBe(0);
    expect(run('image', 'ls').json().images[0].manifestDigest).toBe(b.digest);
    // no name: the manifest digest
    const unnamed = run('image', 'import', a.dir);
    expect(unnamed.json().name).toBe(a.digest);
    expect(names().sort()).toEqual(['app', a.digest].sort());
  });

  test('image tag and image rm: the records go, the layers stay until gc --layers', () => {
    const store = path.join(tmp(), 'store2');
    const run = (...a: string[]) => layerfs(['--store', store, '--json', ...a]);
    const a = layout('c', { c: 'c' });
    const imp = run('image', 'import', a.dir, '--name', 'app').json();
    expect(run('image', 'tag', 'app', 'app:v1').json()).toMatchObject({ name: 'app:v1', chain: imp.chain });
    expect(run('image', 'tag', 'nope', 'x').code).toBe(1);
    const b = layout('d', { d: 'd' });
    run('image', 'import', b.dir, '--name', 'other');
    const clash = run('image', 'tag', 'app', 'other');
    expect(clash.json().error).toMatchObject({ code: 'LAYERFS_EXISTS' });
    // one missing name: nothing removed
    const partial = run('image', 'rm', 'app', 'nope');
    expect(partial.code).toBe(1);
    expect(partial.json().error).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(partial.json().error.message).toContain('"nope"');
    const rm = run('image', 'rm', 'app', 'app:v1');
    expect(rm.code).toBe(0);
    expect(rm.json().removed.map((r: { name: string }) => r.name)).toEqual(['app', 'app:v1']);
    expect(run('image', 'ls').json().images.map((i: { name: string }) => i.name)).toEqual(['other']);
    const layers = () => run('ls').json().layers.map((l: { chainId: string }) => l.chainId);
    expect(layers()).toContain(imp.chain);
    expect(run('gc', '--layers').json().layers).toEqual([imp.chain]);
    expect(layers()).not.toContain(imp.chain);
    // rmi refuses a layer an image uses, naming the image; once the record is gone rmi removes it
    const otherChain = run('image', 'ls').json().images[0].chain;
    const inUse = run('rmi', otherChain);
    expect(inUse.code).toBe(1);
    expect(inUse.json().error).toMatchObject({ code: 'LAYERFS_IN_USE', message: expect.stringContaining('image other') });
    expect(layerfs(['--store', store, 'image', 'rm', 'other']).stdout.trim()).toBe('removed other');
    expect(run('rmi', otherChain).code).toBe(0);
    expect(layers()).not.toContain(otherChain);
  });
});
