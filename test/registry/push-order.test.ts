import { Readable } from 'stream';
import { sha256 } from '../../lib/digest';
import { pushImage, type RemotePush } from '../../lib/registry/push';

/** pushImage's order of work, with a client that records each call (no registry). */
describe('pushImage order', () => {
  const layer = (n: number) => {
    const bytes = Buffer.alloc(n, n % 251);
    return { digest: sha256(bytes), size: n, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', open: (o: number) => Readable.from([bytes.subarray(o)]) };
  };
  const client = (calls: string[], sizes: Map<string, number>): RemotePush => ({
    async pushBlob(_repo, desc, open) {
      calls.push(`blob ${sizes.get(desc.digest) ?? 'config'}`);
      for await (const _ of await open(0)) void _;
      await new Promise((r) => setImmediate(r));
      return { how: 'uploaded', bytes: desc.size };
    },
    async putManifest(_repo, _ref, _type, body) {
      calls.push('manifest');
      return { digest: sha256(body) };
    },
  });

  test('blobs go the largest first, the config among them, a repeated layer once; the manifest last, naming the layers in their order', async () => {
    const layers = [layer(10), layer(3000), layer(20), layer(3000), layer(500)];
    const sizes = new Map(layers.map((l) => [l.digest, l.size]));
    const calls: string[] = [];
    let manifest: Buffer | undefined;
    const c = client(calls, sizes);
    const put = c.putManifest;
    c.putManifest = async (repo, ref, type, body) => ((manifest = body), put(repo, ref, type, body));
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } } as never;
    const r = await pushImage(null, c, 'example.com', 'a/b', 'v1', { config, layers }, { jobs: 1 });
    const configSize = r.blobs.find((b) => b.digest === r.configDigest)!.size;
    const expected = [3000, 500, configSize, 20, 10].sort((a, b) => b - a).map((n) => (n === configSize ? 'blob config' : `blob ${n}`));
    expect(calls).toEqual([...expected, 'manifest']);
    expect(JSON.parse(manifest!.toString()).layers.map((l: { size: number }) => l.size)).toEqual([10, 3000, 20, 3000, 500]);
  });
});
