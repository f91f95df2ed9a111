'use strict';
// A local Serverless plugin: once serverless-python-requirements has added the requirements
// to the zip, deploy/optimize_package.py precompiles its modules and drops unused botocore
// models (see that file for why). Configured by custom.optimizePackage in serverless.yml.
//
// It also packages the files the function reads at start that are not modules: the trusted
// documents named by PERSISTED_QUERIES_FILE (the persistedQueriesFile param), a path relative
// to the project root. package.patterns cannot name them (an empty param is an invalid
// pattern), so they are added here, and packaging stops if one is missing or not in the zip:
// the function would refuse to start without it.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

// Settings naming a file of the project that the function reads at cold start.
const FILE_SETTINGS = ['PERSISTED_QUERIES_FILE'];

class OptimizePackage {
  constructor(serverless, _options, utils) {
    this.serverless = serverless;
    this.log = (utils && utils.log) || { notice: (message) => serverless.cli.log(message) };
    const include = () => this.includeFiles();
    const optimize = () => this.optimize();
    this.hooks = {
      // Before anything is installed or zipped: a missing file fails in a second, not after pip.
      'before:package:initialize': include,
      'before:deploy:function:initialize': include,
      'after:package:createDeploymentArtifacts': optimize,
      'after:deploy:function:packageFunction': optimize,
    };
  }

  // The files FILE_SETTINGS name in the provider's or a function's environment, as zip entry names.
  requiredFiles() {
    const service = this.serverless.service;
    const environments = [
      service.provider.environment || {},
      ...service.getAllFunctions().map((name) => service.getFunction(name).environment || {}),
    ];
    const serviceDir = this.serverless.serviceDir || this.serverless.config.servicePath;
    const files = new Set();
    for (const environment of environments) {
      for (const setting of FILE_SETTINGS) {
        const value = environment[setting];
        if (typeof value !== 'string' || value === '') continue;
        const file = path.posix.normalize(value);
        if (path.isAbsolute(value) || file === '..' || file.startsWith('../')) {
          throw new this.serverless.classes.Error(
            `${setting} ${value}: name a file of the project by its path from the project root, ` +
              'e.g. persisted_queries.json: the function reads it from its own directory'
          );
        }
        const stat = fs.statSync(path.join(serviceDir, file), { throwIfNoEntry: false });
        if (!stat || !stat.isFile()) {
          throw new this.serverless.classes.Error(
            `${setting} ${value}: no such file in ${serviceDir}; create it before packaging ` +
              '(e.g. relay-compiler with persistConfig): the function refuses to start without it'
          );
        }
        files.add(file);
      }
    }
    return [...files];
  }

  includeFiles() {
    const files = this.requiredFiles();
    if (files.length === 0) return;
    const service = this.serverless.service;
    service.package = service.package || {};
    // Last: no earlier exclusion ("!**") can drop them.
    service.package.patterns = [...(service.package.patterns || []), ...files];
  }

  optimize() {
    const service = this.serverless.service;
    const custom = service.custom || {};
    const settings = custom.optimizePackage || {};
    const runtime = String(service.provider.runtime || '');
    const version = runtime.replace(/^python/, '');
    const pythonBin = settings.pythonBin || (custom.pythonRequirements || {}).pythonBin || runtime;
    const artifacts = new Set();
    if (service.package && service.package.artifact) artifacts.add(service.package.artifact);
    for (const name of service.getAllFunctions()) {
      const fn = service.getFunction(name);
      if (fn.package && fn.package.artifact) artifacts.add(fn.package.artifact);
    }
    const script = path.join(__dirname, 'optimize_package.py');
    const required = this.requiredFiles().flatMap((file) => ['--require', file]);
    for (const artifact of artifacts) {
      const zip = path.resolve(this.serverless.serviceDir || this.serverless.config.servicePath, artifact);
      const args = [script, zip, '--python-version', version,
        '--botocore-services', (settings.botocoreServices || []).join(','), ...required];
      const run = spawnSync(pythonBin, args, { encoding: 'utf8' });
      if (run.error || run.status !== 0) {
        const reason = run.error ? run.error.message : (run.stderr || '').trim();
        throw new this.serverless.classes.Error(`optimize-package failed for ${zip}: ${reason}`);
      }
      this.log.notice((run.stdout || '').trim());
    }
  }
}

module.exports = OptimizePackage;
