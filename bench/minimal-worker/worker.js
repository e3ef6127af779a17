export default { fetch() { return new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } }); } };
